import type { Redis } from 'ioredis';
import type {
  Ranked,
  ScoreChange,
  TrendingBatch,
  TrendingSet,
  TrendingStore,
} from '../capabilities/trending/trending-store.js';

/**
 * The trending sets as two Redis sorted sets, `<prefix>:trending:posts` and
 * `<prefix>:trending:tags`, scores in log form (`capabilities/trending/decay.ts`).
 * A change is read-modify-write (`combine`: a log-sum-exp), so it runs in
 * a Lua script: the same formula as `combine`, numbers passed with 17
 * significant digits both ways so nothing is rounded on the wire. Big
 * batches go in chunks, pipelined (each chunk atomic, the batch not).
 */

/** Members changed per script call. */
const CHUNK = 1000;

/**
 * KEYS: posts, tags. ARGV: maxPosts, maxTags, nPosts, nTags, nRemove, then
 * nPosts and nTags triples (member, add, sub; '' for none), then nRemove
 * post ids.
 */
const APPLY = `
local VANISH = ${1e-9}
local function combine(key, m, a, s)
  local cur = redis.call('ZSCORE', key, m)
  if (not cur) and a == '' then return end
  local hi = -math.huge
  local c, av, sv
  if cur then c = tonumber(cur); if c > hi then hi = c end end
  if a ~= '' then av = tonumber(a); if av > hi then hi = av end end
  if s ~= '' then sv = tonumber(s); if sv > hi then hi = sv end end
  local sum = 0
  if c then sum = sum + math.exp(c - hi) end
  if av then sum = sum + math.exp(av - hi) end
  if sv then sum = sum - math.exp(sv - hi) end
  if sum <= VANISH then
    if cur then redis.call('ZREM', key, m) end
  else
    redis.call('ZADD', key, string.format('%.17g', hi + math.log(sum)), m)
  end
end
local function trim(key, max)
  local over = redis.call('ZCARD', key) - max
  if over > 0 then redis.call('ZREMRANGEBYRANK', key, 0, over - 1) end
end
local np, nt, nr = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local i = 6
for _ = 1, np do combine(KEYS[1], ARGV[i], ARGV[i + 1], ARGV[i + 2]); i = i + 3 end
for _ = 1, nt do combine(KEYS[2], ARGV[i], ARGV[i + 1], ARGV[i + 2]); i = i + 3 end
for _ = 1, nr do redis.call('ZREM', KEYS[1], ARGV[i]); i = i + 1 end
trim(KEYS[1], tonumber(ARGV[1]))
trim(KEYS[2], tonumber(ARGV[2]))
return 1`;

/**
 * KEYS: set. ARGV: limit, score, member. Members ranked strictly after
 * (score, member) — highest first, ties by the greater member first, as
 * ZREVRANGEBYSCORE orders them — with their scores.
 */
const AFTER = `
local limit, s, m = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local out = {}
local offset = 0
while #out < 2 * limit do
  local r = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', offset, limit)
  if #r == 0 then break end
  for j = 1, #r, 2 do
    if tonumber(r[j + 1]) < s or r[j] < m then
      out[#out + 1] = r[j]
      out[#out + 1] = r[j + 1]
      if #out >= 2 * limit then break end
    end
  end
  offset = offset + limit
end
return out`;

type WithScripts = Redis & {
  trendingApply(posts: string, tags: string, ...args: (string | number)[]): Promise<number>;
  trendingAfter(set: string, limit: number, score: string, member: string): Promise<string[]>;
};

export class RedisTrendingStore implements TrendingStore {
  readonly kind = 'redis' as const;
  private readonly r: WithScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('trendingApply', { numberOfKeys: 2, lua: APPLY });
    redis.defineCommand('trendingAfter', { numberOfKeys: 1, lua: AFTER });
    this.r = redis as WithScripts;
  }

  /** The key of a set (tests delete it to simulate a lost cache). */
  key(set: TrendingSet): string {
    return `${this.prefix}:trending:${set}`;
  }

  async apply(batch: TrendingBatch, limits: { maxPosts: number; maxTags: number }): Promise<void> {
    const chunks: { posts: ScoreChange[]; tags: ScoreChange[]; remove: string[] }[] = [];
    const take = () => {
      const last = chunks.at(-1);
      if (last && last.posts.length + last.tags.length + last.remove.length < CHUNK) return last;
      const c = { posts: [], tags: [], remove: [] };
      chunks.push(c);
      return c;
    };
    for (const c of batch.posts) take().posts.push(c);
    for (const c of batch.tags) take().tags.push(c);
    for (const id of batch.removePosts) take().remove.push(id);
    if (chunks.length === 0) return;
    const p = this.r.pipeline() as unknown as WithScripts & {
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (const c of chunks) {
      void p.trendingApply(
        this.key('posts'),
        this.key('tags'),
        limits.maxPosts,
        limits.maxTags,
        c.posts.length,
        c.tags.length,
        c.remove.length,
        ...c.posts.flatMap(arg),
        ...c.tags.flatMap(arg),
        ...c.remove,
      );
    }
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
  }

  async top(set: TrendingSet, opts: { limit: number; after?: Ranked | undefined }): Promise<Ranked[]> {
    const key = this.key(set);
    const flat = opts.after
      ? await this.r.trendingAfter(key, opts.limit, num(opts.after.score), opts.after.member)
      : await this.r.zrevrange(key, 0, opts.limit - 1, 'WITHSCORES');
    const out: Ranked[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ member: flat[i] as string, score: Number(flat[i + 1]) });
    return out;
  }

  /** The connection is the node's: it closes it. */
  async close(): Promise<void> {}
}

/** A number as the script reads it back exactly ('' for none). */
function num(x: number): string {
  return x === Number.NEGATIVE_INFINITY ? '' : String(x);
}

function arg(c: ScoreChange): string[] {
  return [c.member, num(c.add), num(c.sub)];
}
