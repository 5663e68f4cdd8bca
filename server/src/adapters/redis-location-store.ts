import type { Redis } from 'ioredis';
import { INDEX_PRECISIONS } from '../capabilities/nearby/geo.js';
import {
  type Candidates,
  decodeFix,
  encodeFix,
  type Fix,
  type LocationStore,
  type MyEntry,
  type Sharing,
  type StoredFix,
} from '../capabilities/nearby/location-store.js';

/**
 * The location store in Redis, shared by every node. Keys under
 * `<namespace>:nb`:
 *
 * - `s:<user>`: the sharing state, `1:<version>` or `0:<version>`, for a
 *   day after it was last set or used (then re-read from Postgres);
 * - `f:<user>`: the fix, `lat|lon|accuracy|at|cell|expiresAt`, expiring
 *   with it (PX);
 * - `c:<geohash>`: a sorted set per cell of each indexed precision, member
 *   the user, score the fix's expiry: expired members are cut from a cell
 *   whenever a fix lands in it or a list scans it, and the key itself
 *   expires a TTL after the last fix landed (nothing in it can be live);
 * - `fr:<user>`: the user's mutual friends (a set holding `''` too, so an
 *   empty set is held as such), for NEARBY_FRIENDS_CACHE_MS;
 * - `fg:<user>`: how many times that set was dropped (for a day after the
 *   last): a set read from the graph before a drop is not stored after it.
 *
 * Every step is one Lua script, so each is atomic (a fix never lands after
 * the `off` that removes it) and one round trip. The scripts reach keys
 * they compute (a friend's fix), so this needs one Redis (or a primary with
 * replicas), not Redis Cluster — like every Redis adapter here.
 */
const STATE_TTL_SECONDS = 86_400;
const GEN_TTL_SECONDS = 86_400;

/** Removes the fix of ARGV user from its cells and deletes it. */
const REMOVE_FIX = `
local function cellOf(text)
  local at = 0
  for _ = 1, 4 do at = string.find(text, '|', at + 1, true) end
  return string.sub(text, at + 1, string.find(text, '|', at + 1, true) - 1)
end
local function removeFix(prefix, fixKey, user, precisions)
  local old = redis.call('GET', fixKey)
  if not old then return end
  local cell = cellOf(old)
  for _, p in ipairs(precisions) do
    redis.call('ZREM', prefix .. ':c:' .. string.sub(cell, 1, p), user)
  end
  redis.call('DEL', fixKey)
end
`;

const PRECISIONS = `local precisions = {${INDEX_PRECISIONS.join(', ')}}`;

/** KEYS: state, fix. ARGV: user, on (0/1), version, prefix, state ttl seconds. */
const SET_SHARING = `${REMOVE_FIX}${PRECISIONS}
local held = redis.call('GET', KEYS[1])
if held and tonumber(string.sub(held, 3)) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2] .. ':' .. ARGV[3], 'EX', ARGV[5])
if ARGV[2] == '0' then removeFix(ARGV[4], KEYS[2], ARGV[1], precisions) end
return 1`;

/** KEYS: state, fix. ARGV: user, fix text, cell, ttl ms, expiresAt, now, prefix, state ttl seconds. */
const PUT = `${REMOVE_FIX}${PRECISIONS}
local held = redis.call('GET', KEYS[1])
if not held then return 'unknown' end
if string.sub(held, 1, 1) ~= '1' then return 'off' end
redis.call('EXPIRE', KEYS[1], ARGV[8])
local old = redis.call('GET', KEYS[2])
local oldCell = old and cellOf(old) or ''
for _, p in ipairs(precisions) do
  local cell = string.sub(ARGV[3], 1, p)
  if old and string.sub(oldCell, 1, p) ~= cell then
    redis.call('ZREM', ARGV[7] .. ':c:' .. string.sub(oldCell, 1, p), ARGV[1])
  end
  local key = ARGV[7] .. ':c:' .. cell
  redis.call('ZADD', key, ARGV[5], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[6])
  redis.call('PEXPIRE', key, ARGV[4])
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return 'ok'`;

/** KEYS: state, fix, friends, friends gen. Answers {state or '', fix or '', friends held 0/1, gen or '0'}. */
const ME = `
return {redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or '', redis.call('EXISTS', KEYS[3]),
  redis.call('GET', KEYS[4]) or '0'}`;

/** KEYS: friends, friends gen. ARGV: ttl ms, gen, ids… Stores nothing (0) if the gen moved. */
const SET_FRIENDS = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], '')
local batch = {}
for i = 3, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch >= 1000 then redis.call('SADD', KEYS[1], unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('SADD', KEYS[1], unpack(batch)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** KEYS: friends, friends gen… (pairs). ARGV: gen ttl seconds. */
const DROP_FRIENDS = `
for i = 1, #KEYS, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
end
return 1`;

/**
 * KEYS: friends. ARGV: now, prefix, cells… Answers false without a friend
 * set, else {plan, scanned, id, fix, id, fix…}: the live fixes of friends,
 * read from the cells or from the friend set, whichever holds fewer.
 */
const CANDIDATES = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local now, prefix = ARGV[1], ARGV[2]
local friends = redis.call('SCARD', KEYS[1]) - 1
local out = {}
local function add(id)
  local f = redis.call('GET', prefix .. ':f:' .. id)
  if f then out[#out + 1] = id; out[#out + 1] = f end
end
if #ARGV > 2 then
  local n = 0
  for i = 3, #ARGV do
    local key = prefix .. ':c:' .. ARGV[i]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    n = n + redis.call('ZCARD', key)
  end
  if n < friends then
    out[1] = 'cells'; out[2] = n
    for i = 3, #ARGV do
      for _, id in ipairs(redis.call('ZRANGE', prefix .. ':c:' .. ARGV[i], 0, -1)) do
        if redis.call('SISMEMBER', KEYS[1], id) == 1 then add(id) end
      end
    end
    return out
  end
end
out[1] = 'friends'; out[2] = friends
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= '' then add(id) end
end
return out`;

/** KEYS: state, fix, friends, friends gen. ARGV: user, prefix. */
const FORGET = `${REMOVE_FIX}${PRECISIONS}
removeFix(ARGV[2], KEYS[2], ARGV[1], precisions)
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
return 1`;

type WithScripts = Redis & {
  nbSetSharing(
    s: string,
    f: string,
    user: string,
    on: string,
    version: number,
    prefix: string,
    ttl: number,
  ): Promise<number>;
  nbPut(s: string, f: string, ...argv: (string | number)[]): Promise<'ok' | 'off' | 'unknown'>;
  nbMe(s: string, f: string, fr: string, fg: string): Promise<[string, string, number, string]>;
  nbSetFriends(fr: string, fg: string, ttlMs: number, gen: number, ...ids: string[]): Promise<number>;
  nbCandidates(fr: string, now: number, prefix: string, ...cells: string[]): Promise<string[] | null>;
  /** Without a fixed key count: the first argument is how many keys follow. */
  nbDropFriends(numKeys: number, ...keysThenTtl: (string | number)[]): Promise<number>;
  nbForget(s: string, f: string, fr: string, fg: string, user: string, prefix: string): Promise<number>;
};

export class RedisLocationStore implements LocationStore {
  readonly kind = 'redis' as const;
  private readonly r: WithScripts;
  private readonly p: string;

  constructor(redis: Redis, namespace: string) {
    this.p = `${namespace}:nb`;
    redis.defineCommand('nbSetSharing', { numberOfKeys: 2, lua: SET_SHARING });
    redis.defineCommand('nbPut', { numberOfKeys: 2, lua: PUT });
    redis.defineCommand('nbMe', { numberOfKeys: 4, lua: ME });
    redis.defineCommand('nbSetFriends', { numberOfKeys: 2, lua: SET_FRIENDS });
    redis.defineCommand('nbCandidates', { numberOfKeys: 1, lua: CANDIDATES });
    redis.defineCommand('nbDropFriends', { lua: DROP_FRIENDS });
    redis.defineCommand('nbForget', { numberOfKeys: 4, lua: FORGET });
    this.r = redis as WithScripts;
  }

  private key(kind: 's' | 'f' | 'fr' | 'fg', userId: string): string {
    return `${this.p}:${kind}:${userId}`;
  }

  async me(userId: string, now: number): Promise<MyEntry> {
    const [state, fix, friends, gen] = await this.r.nbMe(
      this.key('s', userId),
      this.key('f', userId),
      this.key('fr', userId),
      this.key('fg', userId),
    );
    const live = fix ? decodeFix(userId, fix) : undefined;
    return {
      sharing: state ? { on: state[0] === '1', version: Number(state.slice(2)) } : undefined,
      fix: live && live.expiresAt > now ? live.fix : undefined,
      friendsHeld: friends === 1,
      friendsGen: Number(gen),
    };
  }

  async setSharing(userId: string, s: Sharing): Promise<void> {
    await this.r.nbSetSharing(
      this.key('s', userId),
      this.key('f', userId),
      userId,
      s.on ? '1' : '0',
      s.version,
      this.p,
      STATE_TTL_SECONDS,
    );
  }

  async put(fix: StoredFix, ttlMs: number): Promise<'ok' | 'off' | 'unknown'> {
    const expiresAt = fix.at + ttlMs;
    return this.r.nbPut(
      this.key('s', fix.userId),
      this.key('f', fix.userId),
      fix.userId,
      encodeFix(fix, expiresAt),
      fix.cell,
      ttlMs,
      expiresAt,
      fix.at,
      this.p,
      STATE_TTL_SECONDS,
    );
  }

  async setFriends(
    userId: string,
    friendIds: readonly string[],
    ttlMs: number,
    friendsGen: number,
  ): Promise<boolean> {
    const stored = await this.r.nbSetFriends(
      this.key('fr', userId),
      this.key('fg', userId),
      ttlMs,
      friendsGen,
      ...friendIds,
    );
    return stored === 1;
  }

  async dropFriends(userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    const keys = userIds.flatMap((id) => [this.key('fr', id), this.key('fg', id)]);
    await this.r.nbDropFriends(keys.length, ...keys, GEN_TTL_SECONDS);
  }

  async candidates(
    userId: string,
    cells: readonly string[] | undefined,
    now: number,
  ): Promise<Candidates | undefined> {
    const out = await this.r.nbCandidates(this.key('fr', userId), now, this.p, ...(cells ?? []));
    if (!out) return undefined;
    const fixes: Fix[] = [];
    for (let i = 2; i + 1 < out.length; i += 2) {
      const f = decodeFix(out[i] as string, out[i + 1] as string);
      if (f.expiresAt > now) fixes.push(f.fix);
    }
    return { fixes, plan: out[0] === 'cells' ? 'cells' : 'friends', scanned: Number(out[1]) };
  }

  async forget(userId: string): Promise<void> {
    await this.r.nbForget(
      this.key('s', userId),
      this.key('f', userId),
      this.key('fr', userId),
      this.key('fg', userId),
      userId,
      this.p,
    );
  }

  async close(): Promise<void> {}
}
