import { fmix32, hash32 } from './hash.js';

/**
 * Rendezvous (highest random weight) hashing: a shard goes to the node whose
 * weight for it is highest. When a node joins it takes only the shards where
 * it now weighs most (about 1/n of them) and every other shard stays put; when
 * a node leaves only its own shards move, spread over the rest.
 */
export class Rendezvous {
  private readonly nodes: { name: string; seed: number }[];

  constructor(nodes: Iterable<string>) {
    this.nodes = [...new Set(nodes)].sort().map((name) => ({ name, seed: hash32(name) }));
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The node that should own `shard`, or undefined when there are no nodes. */
  ownerOf(shard: number): string | undefined {
    let best: string | undefined;
    let bestWeight = -1;
    const s = Math.imul(shard + 1, 0x9e3779b1);
    for (const n of this.nodes) {
      const w = fmix32(n.seed ^ s);
      // Nodes are sorted, so ties go to the smaller name on every node alike.
      if (w > bestWeight) {
        bestWeight = w;
        best = n.name;
      }
    }
    return best;
  }

  /** The owner of every shard `0 … shardCount-1`. */
  assign(shardCount: number): (string | undefined)[] {
    return Array.from({ length: shardCount }, (_, s) => this.ownerOf(s));
  }
}
