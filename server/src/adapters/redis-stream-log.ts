import type { Redis } from 'ioredis';
import { Packr, Unpackr } from 'msgpackr';
import { newEpoch } from '../streams/memory-stream-log.js';
import {
  historyFor,
  type ReadResult,
  type StoredEvent,
  type StreamHead,
  type StreamLog,
  type StreamLogOptions,
} from '../streams/stream-log.js';

// Event payloads are stored as msgpack (binary-safe, compact); only our own
// writes are ever read back, so the default unpacker is fine here.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true });

/**
 * Trims approximately (whole radix-tree nodes, cheap) a long history, and
 * exactly a short one: `~` trims nothing below a node's 100 entries, so
 * a history of 1 would keep ~100.
 */
const ADD = `
local function add(hist, max, seq, data, ts)
  if max >= 100 then
    redis.call('XADD', hist, 'MAXLEN', '~', max, seq .. '-1', 'd', data, 't', ts)
  else
    redis.call('XADD', hist, 'MAXLEN', max, seq .. '-1', 'd', data, 't', ts)
  end
end
`;

/**
 * Creates the stream's epoch if it has none (wiping any orphaned history),
 * then appends. KEYS: meta hash, history stream. ARGV: new epoch, data, ts,
 * max events, ttl seconds. Returns { epoch, seq }.
 */
const APPEND = `${ADD}
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
local max = tonumber(ARGV[4])
if max > 0 then
  add(KEYS[2], max, seq, ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
else
  redis.call('DEL', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {epoch, seq}
`;

/**
 * APPEND for many streams in one call: KEYS are (meta, hist) pairs; ARGV is
 * the epoch base, ts, the default max (each entry carries its own), ttl,
 * the number K of distinct payloads, the K payloads, each entry's payload
 * index (1-based), then each entry's max events. A new stream's epoch is
 * the base and its entry's index. Not for Redis Cluster (keys of many
 * slots in one script); `append` stays cluster-safe.
 */
const APPEND_MANY = `${ADD}
local out = {}
local k = tonumber(ARGV[5])
local n = #KEYS / 2
for i = 1, n do
  local max = tonumber(ARGV[5 + k + n + i])
  local meta, hist = KEYS[2 * i - 1], KEYS[2 * i]
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = ARGV[1] .. i
    redis.call('DEL', hist)
    redis.call('HSET', meta, 'e', epoch, 's', 0)
  end
  local seq = redis.call('HINCRBY', meta, 's', 1)
  if max > 0 then
    add(hist, max, seq, ARGV[5 + tonumber(ARGV[5 + k + i])], ARGV[2])
    redis.call('EXPIRE', hist, ARGV[4])
  else
    redis.call('DEL', hist)
  end
  redis.call('EXPIRE', meta, ARGV[4])
  out[2 * i - 1] = epoch
  out[2 * i] = seq
end
return out
`;

/** KEYS: meta hash, history stream. ARGV: new epoch, ttl. Returns { epoch, seq }. */
const HEAD = `
local m = redis.call('HMGET', KEYS[1], 'e', 's')
if not m[1] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 's', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {ARGV[1], 0}
end
return {m[1], tonumber(m[2])}
`;

type WithScripts = Redis & {
  shutterAppend(
    meta: string,
    hist: string,
    epoch: string,
    data: Buffer,
    ts: number,
    max: number,
    ttl: number,
  ): Promise<[string, number]>;
  shutterHead(meta: string, hist: string, epoch: string, ttl: number): Promise<[string, number]>;
  shutterAppendMany(keyCount: number, ...args: (string | number | Buffer)[]): Promise<(string | number)[]>;
};

/** Stream history in Redis: a hash for (epoch, seq) and a Redis stream of the newest events. */
export class RedisStreamLog implements StreamLog {
  private readonly redis: WithScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly options: StreamLogOptions,
  ) {
    redis.defineCommand('shutterAppend', { numberOfKeys: 2, lua: APPEND });
    redis.defineCommand('shutterHead', { numberOfKeys: 2, lua: HEAD });
    redis.defineCommand('shutterAppendMany', { lua: APPEND_MANY });
    this.redis = redis as WithScripts;
  }

  private keys(stream: string): [string, string] {
    // The hash tag keeps both keys of a stream in one Redis Cluster slot.
    return [`${this.prefix}:s:{${stream}}:m`, `${this.prefix}:s:{${stream}}:x`];
  }

  async append(stream: string, data: unknown, ts: number): Promise<StoredEvent> {
    const [meta, hist] = this.keys(stream);
    const [epoch, seq] = await this.redis.shutterAppend(
      meta,
      hist,
      newEpoch(),
      packr.pack(data),
      ts,
      historyFor(this.options, stream),
      this.options.ttlSeconds,
    );
    return { stream, epoch, seq: Number(seq), ts, data };
  }

  /**
   * One script call per chunk of 500 entries (one round trip, one script
   * run): distinct payloads (by object) are packed and sent once per chunk.
   */
  async appendMany(
    entries: readonly { stream: string; data: unknown }[],
    ts: number,
  ): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (let i = 0; i < entries.length; i += 500) {
      const chunk = entries.slice(i, i + 500);
      const payloads = new Map<unknown, number>();
      const packed: Buffer[] = [];
      const index = chunk.map((e) => {
        let n = payloads.get(e.data);
        if (n === undefined) {
          packed.push(packr.pack(e.data));
          payloads.set(e.data, (n = packed.length));
        }
        return n;
      });
      const keys = chunk.flatMap((e) => this.keys(e.stream));
      const r = await this.redis.shutterAppendMany(
        keys.length,
        ...keys,
        newEpoch(),
        ts,
        this.options.maxEvents,
        this.options.ttlSeconds,
        packed.length,
        ...packed,
        ...index,
        ...chunk.map((e) => historyFor(this.options, e.stream)),
      );
      chunk.forEach((e, k) => {
        out.push({ stream: e.stream, epoch: String(r[2 * k]), seq: Number(r[2 * k + 1]), ts, data: e.data });
      });
    }
    return out;
  }

  async head(stream: string): Promise<StreamHead> {
    const [meta, hist] = this.keys(stream);
    const [epoch, seq] = await this.redis.shutterHead(meta, hist, newEpoch(), this.options.ttlSeconds);
    return { epoch, seq: Number(seq) };
  }

  async readAfter(stream: string, from: StreamHead, limit: number): Promise<ReadResult> {
    const head = await this.head(stream);
    if (from.epoch !== head.epoch || from.seq > head.seq) return { status: 'refetch', head };
    if (from.seq === head.seq) return { status: 'ok', head, events: [] };
    const missed = head.seq - from.seq;
    if (missed > Math.min(limit, historyFor(this.options, stream))) return { status: 'refetch', head };
    const [, hist] = this.keys(stream);
    const rows = await this.redis.xrangeBuffer(hist, `${from.seq + 1}-1`, `${head.seq}-1`);
    const events: StoredEvent[] = [];
    for (const [id, fields] of rows) {
      let data: Buffer | undefined;
      let ts = 0;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const k = fields[i]!.toString();
        if (k === 'd') data = fields[i + 1];
        else if (k === 't') ts = Number(fields[i + 1]!.toString());
      }
      const seq = Number(id.toString().split('-')[0]);
      events.push({ stream, epoch: head.epoch, seq, ts, data: data ? unpackr.unpack(data) : null });
    }
    if (events.length !== missed || events[0]?.seq !== from.seq + 1) return { status: 'refetch', head };
    return { status: 'ok', head, events };
  }

  async touch(streams: readonly string[]): Promise<void> {
    if (streams.length === 0) return;
    const p = this.redis.pipeline();
    for (const s of streams) for (const k of this.keys(s)) p.expire(k, this.options.ttlSeconds);
    const results = (await p.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async close(): Promise<void> {}
}
