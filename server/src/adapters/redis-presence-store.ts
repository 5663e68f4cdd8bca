import type { Redis } from 'ioredis';
import type {
  EndedSessions,
  PresenceCounts,
  PresenceStore,
  SettledUser,
  StoredPresence,
} from '../capabilities/presence/presence-store.js';

// Keys under `<prefix>:pr:` — `u:<user>`: a hash of the user's sessions
// (`s:<session>` → node), their count `c`, state `st` ('on' | 'lv'),
// leaving since `t` and version `v`, gone once they are offline;
// `n:<node>`: the set of the node's sessions as "<user> <session>";
// `nodes`: heartbeats (zset, score = ms); `lv`: leaving users (zset,
// score = settle deadline); `v`: the last version handed out; `sc`: how
// many sessions the node sets hold.
//
// Numbers go into Redis as strings made with %.0f: Lua's own conversion
// prints 13-digit ms in exponent form and loses digits.

/** The next version (see `nextVersion`): `local v = nextv(vkey, now)`. */
const NEXTV = `
local function nextv(k, now)
  local last = tonumber(redis.call('GET', k) or '0')
  local v = math.floor(tonumber(now))
  if v <= last then v = last + 1 end
  redis.call('SET', k, string.format('%.0f', v))
  return v
end
`;

/** Leaves user `uid` (record key k) if it has no session and is online: returns the deadline, or nil. */
const LEAVE = `
local function leave(k, lvkey, uid, since, deadline)
  if tonumber(redis.call('HGET', k, 'c') or '0') > 0 then return nil end
  if redis.call('HGET', k, 'st') ~= 'on' then return nil end
  redis.call('HSET', k, 'st', 'lv', 't', string.format('%.0f', since))
  redis.call('ZADD', lvkey, string.format('%.0f', deadline), uid)
  return deadline
end
`;

/** KEYS: user, node set, leaving, version, session count. ARGV: user, session, node, now. Returns the new version or 0. */
const OPEN = `${NEXTV}
if redis.call('HSETNX', KEYS[1], 's:' .. ARGV[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'c', 1)
  redis.call('INCRBY', KEYS[5], redis.call('SADD', KEYS[2], ARGV[1] .. ' ' .. ARGV[2]))
end
local st = redis.call('HGET', KEYS[1], 'st')
if st == 'on' then return 0 end
if st == 'lv' then
  redis.call('HSET', KEYS[1], 'st', 'on')
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 0
end
local v = nextv(KEYS[4], ARGV[4])
redis.call('HSET', KEYS[1], 'st', 'on', 'v', string.format('%.0f', v))
return v
`;

/** KEYS: user, node set, leaving, session count. ARGV: user, session, now, grace. Returns the deadline or -1. */
const CLOSE = `${LEAVE}
if redis.call('HDEL', KEYS[1], 's:' .. ARGV[2]) == 0 then return -1 end
redis.call('DECRBY', KEYS[4], redis.call('SREM', KEYS[2], ARGV[1] .. ' ' .. ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'c', -1)
local now = tonumber(ARGV[3])
return leave(KEYS[1], KEYS[3], ARGV[1], now, now + tonumber(ARGV[4])) or -1
`;

/** KEYS: leaving, version. ARGV: now, limit, user key prefix. Returns [user, v, since]… */
const SETTLE = `${NEXTV}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, uid in ipairs(due) do
  redis.call('ZREM', KEYS[1], uid)
  local k = ARGV[3] .. uid
  local h = redis.call('HMGET', k, 'st', 'c', 't')
  if h[1] == 'lv' and tonumber(h[2] or '0') <= 0 then
    redis.call('DEL', k)
    out[#out + 1] = uid
    out[#out + 1] = nextv(KEYS[2], ARGV[1])
    out[#out + 1] = tonumber(h[3] or ARGV[1])
  end
end
return out
`;

/**
 * KEYS: nodes, node set, leaving, session count. ARGV: node, at, grace, limit, user key
 * prefix. Returns [alive (0/1), ended, left, earliest deadline or -1].
 */
const END_NODE = `${LEAVE}
local beat = redis.call('ZSCORE', KEYS[1], ARGV[1])
if beat and tonumber(beat) > tonumber(ARGV[2]) then return {1, 0, 0, -1} end
if beat then redis.call('ZREM', KEYS[1], ARGV[1]) end
local at = tonumber(ARGV[2])
local deadline = at + tonumber(ARGV[3])
local members = redis.call('SPOP', KEYS[2], tonumber(ARGV[4]))
redis.call('DECRBY', KEYS[4], #members)
local first = -1
for _, m in ipairs(members) do
  local sp = string.find(m, ' ', 1, true)
  local uid = string.sub(m, 1, sp - 1)
  local k = ARGV[5] .. uid
  if redis.call('HDEL', k, 's:' .. string.sub(m, sp + 1)) == 1 then
    redis.call('HINCRBY', k, 'c', -1)
    if leave(k, KEYS[3], uid, at, deadline) then first = deadline end
  end
end
return {0, #members, redis.call('SCARD', KEYS[2]), first}
`;

/** KEYS: user, version. ARGV: now. Returns [online (0/1), v]. */
const TOUCH = `${NEXTV}
local v = nextv(KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'v', string.format('%.0f', v))
  return {1, v}
end
return {0, v}
`;

type WithScripts = Redis & {
  presenceOpen(u: string, n: string, lv: string, v: string, sc: string, ...argv: string[]): Promise<number>;
  presenceClose(u: string, n: string, lv: string, sc: string, ...argv: string[]): Promise<number>;
  presenceSettle(lv: string, v: string, ...argv: string[]): Promise<(string | number)[]>;
  presenceEndNode(nodes: string, n: string, lv: string, sc: string, ...argv: string[]): Promise<number[]>;
  presenceTouch(u: string, v: string, now: string): Promise<[number, number]>;
};

/** Presence shared by every node in one Redis (not Redis Cluster: scripts touch the keys of many users). */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: WithScripts;
  private readonly p: string;

  constructor(redis: Redis, namespace: string) {
    redis.defineCommand('presenceOpen', { numberOfKeys: 5, lua: OPEN });
    redis.defineCommand('presenceClose', { numberOfKeys: 4, lua: CLOSE });
    redis.defineCommand('presenceSettle', { numberOfKeys: 2, lua: SETTLE });
    redis.defineCommand('presenceEndNode', { numberOfKeys: 4, lua: END_NODE });
    redis.defineCommand('presenceTouch', { numberOfKeys: 2, lua: TOUCH });
    this.redis = redis as WithScripts;
    this.p = `${namespace}:pr:`;
  }

  private user(id: string): string {
    return `${this.p}u:${id}`;
  }

  private node(id: string): string {
    return `${this.p}n:${id}`;
  }

  async sessionOpened(
    userId: string,
    session: string,
    node: string,
    now: number,
  ): Promise<number | undefined> {
    const v = await this.redis.presenceOpen(
      this.user(userId),
      this.node(node),
      `${this.p}lv`,
      `${this.p}v`,
      `${this.p}sc`,
      userId,
      session,
      node,
      String(now),
    );
    return v > 0 ? v : undefined;
  }

  async sessionClosed(
    userId: string,
    session: string,
    node: string,
    now: number,
    graceMs: number,
  ): Promise<number | undefined> {
    const d = await this.redis.presenceClose(
      this.user(userId),
      this.node(node),
      `${this.p}lv`,
      `${this.p}sc`,
      userId,
      session,
      String(now),
      String(graceMs),
    );
    return d >= 0 ? d : undefined;
  }

  async settle(now: number, limit: number): Promise<SettledUser[]> {
    const r = await this.redis.presenceSettle(
      `${this.p}lv`,
      `${this.p}v`,
      String(now),
      String(limit),
      `${this.p}u:`,
    );
    const out: SettledUser[] = [];
    for (let i = 0; i + 2 < r.length; i += 3)
      out.push({ userId: String(r[i]), v: Number(r[i + 1]), lastSeen: Number(r[i + 2]) });
    return out;
  }

  async heartbeat(node: string, now: number): Promise<boolean> {
    return (await this.redis.zadd(`${this.p}nodes`, now, node)) === 0;
  }

  async deadNodes(before: number): Promise<{ node: string; at: number }[]> {
    const r = await this.redis.zrangebyscore(`${this.p}nodes`, '-inf', `(${before}`, 'WITHSCORES');
    const out: { node: string; at: number }[] = [];
    for (let i = 0; i + 1 < r.length; i += 2) out.push({ node: r[i]!, at: Number(r[i + 1]) });
    return out;
  }

  async endNode(node: string, at: number, graceMs: number, limit: number): Promise<EndedSessions> {
    const [alive, ended, left, first] = await this.redis.presenceEndNode(
      `${this.p}nodes`,
      this.node(node),
      `${this.p}lv`,
      `${this.p}sc`,
      node,
      String(at),
      String(graceMs),
      String(limit),
      `${this.p}u:`,
    );
    return {
      alive: alive === 1,
      ended: Number(ended),
      left: Number(left),
      deadline: Number(first) >= 0 ? Number(first) : undefined,
    };
  }

  async states(userIds: readonly string[]): Promise<Map<string, StoredPresence>> {
    const out = new Map<string, StoredPresence>();
    for (let i = 0; i < userIds.length; i += 1000) {
      const chunk = userIds.slice(i, i + 1000);
      const pipe = this.redis.pipeline();
      for (const id of chunk) pipe.hmget(this.user(id), 'st', 'v');
      const replies = (await pipe.exec()) ?? [];
      replies.forEach(([err, r], k) => {
        if (err) throw err;
        const [st, v] = r as [string | null, string | null];
        if (st === 'on' || st === 'lv') out.set(chunk[k]!, { online: true, v: Number(v ?? 0) });
      });
    }
    return out;
  }

  async touch(userId: string, now: number): Promise<StoredPresence> {
    const [online, v] = await this.redis.presenceTouch(this.user(userId), `${this.p}v`, String(now));
    return { online: online === 1, v: Number(v) };
  }

  async counts(): Promise<PresenceCounts> {
    const [sessions, leaving, nodes] = await Promise.all([
      this.redis.get(`${this.p}sc`),
      this.redis.zcard(`${this.p}lv`),
      this.redis.zcard(`${this.p}nodes`),
    ]);
    return { sessions: Number(sessions ?? 0), leaving, nodes };
  }

  async close(): Promise<void> {}
}
