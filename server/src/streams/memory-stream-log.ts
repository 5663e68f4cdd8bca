import { randomBytes } from 'node:crypto';
import {
  historyFor,
  type ReadResult,
  type StoredEvent,
  type StreamHead,
  type StreamLog,
  type StreamLogOptions,
} from './stream-log.js';

interface Entry {
  epoch: string;
  seq: number;
  /** Ring of the newest events; `events[i]` has seq `first + i`. */
  events: StoredEvent[];
  touched: number;
}

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** Stream history in this process's memory: the embedded default. */
export class MemoryStreamLog implements StreamLog {
  private readonly streams = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly options: StreamLogOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, options.ttlSeconds * 1000)).unref();
  }

  private entry(stream: string): Entry {
    let e = this.streams.get(stream);
    if (e && this.now() - e.touched > this.options.ttlSeconds * 1000) {
      this.streams.delete(stream);
      e = undefined;
    }
    if (!e) {
      e = { epoch: newEpoch(), seq: 0, events: [], touched: this.now() };
      this.streams.set(stream, e);
    }
    return e;
  }

  async appendMany(
    entries: readonly { stream: string; data: unknown }[],
    ts: number,
  ): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const e of entries) out.push(await this.append(e.stream, e.data, ts));
    return out;
  }

  async append(stream: string, data: unknown, ts: number): Promise<StoredEvent> {
    const e = this.entry(stream);
    const event: StoredEvent = { stream, epoch: e.epoch, seq: ++e.seq, ts, data };
    e.touched = this.now();
    const kept = historyFor(this.options, stream);
    if (kept > 0) {
      e.events.push(event);
      if (e.events.length > kept) e.events.splice(0, e.events.length - kept);
    } else e.events.length = 0;
    return event;
  }

  async head(stream: string): Promise<StreamHead> {
    const e = this.entry(stream);
    return { epoch: e.epoch, seq: e.seq };
  }

  async readAfter(stream: string, from: StreamHead, limit: number): Promise<ReadResult> {
    const e = this.entry(stream);
    const head = { epoch: e.epoch, seq: e.seq };
    if (from.epoch !== e.epoch || from.seq > e.seq) return { status: 'refetch', head };
    if (from.seq === e.seq) return { status: 'ok', head, events: [] };
    const first = e.events[0]?.seq ?? e.seq + 1;
    const missed = e.seq - from.seq;
    if (from.seq + 1 < first || missed > limit) return { status: 'refetch', head };
    return { status: 'ok', head, events: e.events.slice(from.seq + 1 - first) };
  }

  async touch(streams: readonly string[]): Promise<void> {
    const now = this.now();
    for (const s of streams) {
      const e = this.streams.get(s);
      if (e && now - e.touched <= this.options.ttlSeconds * 1000) e.touched = now;
    }
  }

  private sweep(): void {
    const cutoff = this.now() - this.options.ttlSeconds * 1000;
    for (const [k, e] of this.streams) if (e.touched < cutoff) this.streams.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
