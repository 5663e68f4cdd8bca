/**
 * What the cluster keeps in the shard map (`ShardMapStore`), one key each:
 *
 * - `shard.<n>`     → `ShardRecord`: who owns shard n, under which epoch, and
 *                     whether it is being handed to another node.
 * - `member.<node>` → `MemberRecord`: a node's registration and heartbeat.
 * - `coordinator`   → `LeaseRecord`: which node rebalances, until when.
 *
 * Times are `Date.now()` milliseconds written by the node that wrote the
 * record; nodes compare them with their own clock, so clocks must agree to
 * well under a lease (true on one machine, NTP across machines).
 */
export interface ShardRecord {
  owner: string;
  /** Grows by one on every change of owner; the StateStore fences on it. */
  epoch: number;
  /** 'moving': `owner` is stopping the shard to hand it to `to`. */
  state: 'active' | 'moving';
  to?: string;
  /** When this record was last written (a move's start, for the handoff timeout). */
  at: number;
}

export interface MemberRecord {
  node: string;
  startedAt: number;
  heartbeatAt: number;
  /** Draining: keep serving, but take no new shards and give the owned ones away. */
  leaving: boolean;
}

export interface LeaseRecord {
  node: string;
  /** One more on every change of holder (elections). */
  term: number;
  expiresAt: number;
}

export const keys = {
  shard: (n: number) => `shard.${n}`,
  member: (node: string) => `member.${node}`,
  coordinator: 'coordinator',
} as const;

/** Node ids become KV key tokens and bus subject tokens. */
export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Parses a stored value; anything malformed reads as absent (and is logged by the caller). */
export function parseShard(v: unknown): ShardRecord | undefined {
  if (!isObj(v) || !isStr(v.owner) || !isNum(v.epoch) || !isNum(v.at)) return undefined;
  if (v.state === 'active') return { owner: v.owner, epoch: v.epoch, state: 'active', at: v.at };
  if (v.state === 'moving' && isStr(v.to))
    return { owner: v.owner, epoch: v.epoch, state: 'moving', to: v.to, at: v.at };
  return undefined;
}

export function parseMember(v: unknown): MemberRecord | undefined {
  if (!isObj(v) || !isStr(v.node) || !isNum(v.startedAt) || !isNum(v.heartbeatAt)) return undefined;
  return { node: v.node, startedAt: v.startedAt, heartbeatAt: v.heartbeatAt, leaving: v.leaving === true };
}

export function parseLease(v: unknown): LeaseRecord | undefined {
  if (!isObj(v) || !isStr(v.node) || !isNum(v.term) || !isNum(v.expiresAt)) return undefined;
  return { node: v.node, term: v.term, expiresAt: v.expiresAt };
}

/** Which shard a `shard.<n>` key names, or undefined for other keys. */
export function shardOfKey(key: string, shardCount: number): number | undefined {
  if (!key.startsWith('shard.')) return undefined;
  const n = Number(key.slice(6));
  return Number.isInteger(n) && n >= 0 && n < shardCount ? n : undefined;
}
