import { describe, expect, it } from 'vitest';
import type { Versioned } from './cluster-view.js';
import { planRebalance, type RebalanceInput, type ShardOp } from './rebalance.js';
import type { MemberRecord, ShardRecord } from './records.js';

const SHARDS = 64;
const NOW = 1_000_000;
const LEASE = 3000;

const member = (node: string, heartbeatAt = NOW, leaving = false): [string, Versioned<MemberRecord>] => [
  node,
  { value: { node, startedAt: 0, heartbeatAt, leaving }, revision: 1 },
];

function input(
  members: [string, Versioned<MemberRecord>][],
  shards: (Versioned<ShardRecord> | undefined)[] = [],
) {
  return {
    now: NOW,
    shardCount: SHARDS,
    shards: Array.from({ length: SHARDS }, (_, i) => shards[i]),
    members: new Map(members),
    leaseMs: LEASE,
    handoffTimeoutMs: 2 * LEASE,
    sweepAfterMs: 3 * LEASE,
  } satisfies RebalanceInput;
}

/** Applies a plan as if every op won its CAS and every move completed. */
function settle(ops: ShardOp[], shards: (Versioned<ShardRecord> | undefined)[]) {
  const out = [...shards];
  for (const op of ops) {
    const next =
      op.kind === 'move'
        ? { owner: op.next.to!, epoch: op.next.epoch + 1, state: 'active' as const, at: NOW }
        : op.next;
    out[op.shard] = { value: next, revision: (out[op.shard]?.revision ?? 0) + 1 };
  }
  return out;
}

describe('planRebalance', () => {
  it('assigns every shard once, at epoch = now, over the live members', () => {
    const plan = planRebalance(input([member('a'), member('b'), member('c')]));
    expect(plan.ops).toHaveLength(SHARDS);
    expect(
      plan.ops.every((o) => o.kind === 'assign' && o.next.epoch === NOW && o.next.state === 'active'),
    ).toBe(true);
    expect(new Set(plan.ops.map((o) => o.next.owner))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('does nothing when the map matches', () => {
    const ms = [member('a'), member('b')];
    const shards = settle(planRebalance(input(ms)).ops, []);
    expect(planRebalance(input(ms, shards)).ops).toEqual([]);
  });

  it('on join asks live owners to hand over only the newcomer’s shards, same epoch, state moving', () => {
    const shards = settle(planRebalance(input([member('a'), member('b')])).ops, []);
    const plan = planRebalance(input([member('a'), member('b'), member('c')], shards));
    expect(plan.ops.length).toBeGreaterThan(SHARDS / 3 - 10);
    expect(plan.ops.length).toBeLessThan(SHARDS / 3 + 10);
    for (const op of plan.ops) {
      expect(op.kind).toBe('move');
      expect(op.next).toMatchObject({ state: 'moving', to: 'c', epoch: shards[op.shard]?.value.epoch });
      expect(op.next.owner).toBe(shards[op.shard]?.value.owner);
    }
  });

  it('takes a dead member’s shards over at epoch + 1, without waiting for it', () => {
    const shards = settle(planRebalance(input([member('a'), member('b'), member('c')])).ops, []);
    const plan = planRebalance(input([member('a'), member('b'), member('c', NOW - LEASE - 1)], shards));
    const owned = shards.filter((s) => s?.value.owner === 'c').length;
    expect(plan.ops).toHaveLength(owned);
    for (const op of plan.ops) {
      expect(op.kind).toBe('takeover');
      expect(op.next.epoch).toBe(shards[op.shard]!.value.epoch + 1);
      expect(['a', 'b']).toContain(op.next.owner);
    }
  });

  it('moves a leaving member’s shards away by handoff, not takeover', () => {
    const shards = settle(planRebalance(input([member('a'), member('b')])).ops, []);
    const plan = planRebalance(input([member('a'), member('b', NOW, true)], shards));
    expect(plan.ops.length).toBe(shards.filter((s) => s?.value.owner === 'b').length);
    expect(plan.ops.every((o) => o.kind === 'move' && o.next.to === 'a')).toBe(true);
  });

  it('forces a handoff stuck past its timeout, retargets or cancels a move whose target changed', () => {
    const moving = (to: string, at: number): Versioned<ShardRecord> => ({
      value: { owner: 'a', epoch: 7, state: 'moving', to, at },
      revision: 3,
    });
    const ms = [member('a'), member('b')];
    const shards = settle(planRebalance(input(ms)).ops, []);
    const toB = shards.findIndex((s) => s?.value.owner === 'b');
    const toA = shards.findIndex((s) => s?.value.owner === 'a');
    const stuck = [...shards];
    stuck[toB] = moving('b', NOW - 2 * LEASE - 1);
    expect(planRebalance(input(ms, stuck)).ops).toEqual([
      { kind: 'takeover', shard: toB, revision: 3, next: { owner: 'b', epoch: 8, state: 'active', at: NOW } },
    ]);
    const gone = [...shards];
    gone[toA] = moving('c', NOW);
    expect(planRebalance(input(ms, gone)).ops).toEqual([
      { kind: 'retarget', shard: toA, revision: 3, next: { owner: 'a', epoch: 8, state: 'active', at: NOW } },
    ]);
    gone[toB] = moving('c', NOW);
    expect(planRebalance(input(ms, gone)).ops.find((o) => o.shard === toB)).toEqual({
      kind: 'retarget',
      shard: toB,
      revision: 3,
      next: { owner: 'a', epoch: 7, state: 'moving', to: 'b', at: NOW },
    });
  });

  it('sweeps a member dead long enough once it owns nothing, not before', () => {
    const ms = [member('a'), member('z', NOW - 4 * LEASE)];
    expect(planRebalance(input(ms)).sweep).toEqual([{ node: 'z', revision: 1 }]);
    const shards: Versioned<ShardRecord>[] = [
      { value: { owner: 'z', epoch: 1, state: 'active', at: 0 }, revision: 1 },
    ];
    expect(planRebalance(input(ms, shards)).sweep).toEqual([]);
    expect(planRebalance(input([member('a'), member('z', NOW - 2 * LEASE)])).sweep).toEqual([]);
  });

  it('declares no one dead when every heartbeat is late alike (a slow store), only one that falls behind the rest', () => {
    const shards = settle(planRebalance(input([member('a'), member('b'), member('c')])).ops, []);
    const late = NOW - 3 * LEASE;
    expect(
      planRebalance(input([member('a', late), member('b', late + 10), member('c', late)], shards)).ops,
    ).toEqual([]);
    const plan = planRebalance(
      input([member('a', late), member('b', late + LEASE + 1), member('c', late + LEASE)], shards),
    );
    expect(plan.live.sort()).toEqual(['b', 'c']);
    expect(plan.ops.every((o) => o.kind === 'takeover' && shards[o.shard]?.value.owner === 'a')).toBe(true);
  });

  it('plans nothing without live members', () => {
    const plan = planRebalance(input([member('a', NOW - LEASE - 1), member('b', NOW, true)]));
    expect(plan.ops).toEqual([]);
    expect(planRebalance(input([])).ops).toEqual([]);
    expect(plan.live).toEqual([]);
  });
});
