/**
 * A continuous workload and its checker for the cluster fault tests: several
 * clients send keyed increments to counters through the live nodes; an
 * increment that fails (any error, any node) is sent again with the same key
 * through the next node until acknowledged, as a careful client does. The
 * checker compares, per counter, the increments acknowledged with the value
 * the cluster ends with: fewer is an acknowledged write lost, more is a write
 * applied twice. Every acknowledgement is timed, so a fault's availability
 * gap is read off the timeline: for each counter the longest stretch without
 * an acknowledgement, and the worst of those.
 */
import { randomBytes } from 'node:crypto';
import type { AskRequest, TestNode } from './cluster-harness.js';

/** A UUIDv7 (time-ordered), the idempotency key shape the runtime accepts. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface WorkloadReport {
  /** Acknowledged increments per counter (each key counted once). */
  acked: Map<string, number>;
  /** Attempts that failed and were sent again under the same key. */
  resent: number;
  /** Attempts answered `actor_timeout` (the slow failure the fault tests look for). */
  timeouts: number;
  /** Longest single attempt, ms. */
  slowestAttemptMs: number;
}

export class Workload {
  private readonly acked = new Map<string, number>();
  /** Acknowledgement times per counter. */
  private readonly ackTimes = new Map<string, number[]>();
  private resent = 0;
  private timeouts = 0;
  private slowest = 0;
  private running = false;
  private done: Promise<void> | undefined;
  private rr = 0;

  constructor(
    private readonly options: {
      counters: string[];
      nodes: () => TestNode[];
      /** Clients per counter (default 1). */
      perCounter?: number;
      /** Each attempt's deadline at the node. */
      attemptMs?: number;
    },
  ) {}

  start(): void {
    this.running = true;
    const clients = this.options.counters.length * (this.options.perCounter ?? 1);
    this.done = Promise.all(Array.from({ length: clients }, (_, i) => this.client(i))).then(() => {});
  }

  /** Stops issuing new increments, waits until every one issued is acknowledged. */
  async stop(): Promise<WorkloadReport> {
    this.running = false;
    await this.done;
    return {
      acked: new Map(this.acked),
      resent: this.resent,
      timeouts: this.timeouts,
      slowestAttemptMs: this.slowest,
    };
  }

  /** When `counter` was last acknowledged (0: never). */
  lastAck(counter: string): number {
    return this.ackTimes.get(counter)?.at(-1) ?? 0;
  }

  /** Total acknowledged so far. */
  total(): number {
    let n = 0;
    for (const v of this.acked.values()) n += v;
    return n;
  }

  /**
   * The availability gap over [from, to]: per counter, the longest stretch
   * inside the window without an acknowledgement (the window's edges count
   * as boundaries only when an ack precedes/follows them), the worst counter.
   */
  gap(from: number, to: number): { worstMs: number; counter: string; medianMs: number } {
    const per: { counter: string; ms: number }[] = [];
    for (const c of this.options.counters) {
      const ts = this.ackTimes.get(c) ?? [];
      const before = ts.filter((t) => t <= from).at(-1) ?? from;
      const inside = ts.filter((t) => t > from && t <= to);
      const after = ts.find((t) => t > to);
      const points = [before, ...inside, ...(after === undefined ? [Date.now()] : [after])];
      let worst = 0;
      for (let i = 1; i < points.length; i++) worst = Math.max(worst, points[i]! - points[i - 1]!);
      per.push({ counter: c, ms: worst });
    }
    per.sort((a, b) => a.ms - b.ms);
    const w = per.at(-1) ?? { counter: '', ms: 0 };
    return { worstMs: w.ms, counter: w.counter, medianMs: per[Math.floor(per.length / 2)]?.ms ?? 0 };
  }

  /**
   * Client `i` works on counter `i mod n` only (one increment at a time), so a
   * counter that cannot be reached stalls only its own clients: the gap of
   * each counter is its own availability, not a stall borrowed from another.
   */
  private async client(i: number): Promise<void> {
    const { counters } = this.options;
    const id = counters[i % counters.length]!;
    while (this.running) {
      const items: AskRequest[] = [
        { id, msg: 'inc', key: uuidv7(), timeoutMs: this.options.attemptMs ?? 4000 },
      ];
      let pending = items;
      while (pending.length > 0) {
        const live = this.options.nodes();
        const via = live[this.rr++ % Math.max(1, live.length)];
        let results: { ok: boolean; code?: string }[];
        const started = Date.now();
        try {
          if (!via) throw new Error('no live node');
          results = await via.ask(pending);
        } catch {
          results = pending.map(() => ({ ok: false, code: 'node_unreachable' }));
          await new Promise((r) => setTimeout(r, 50));
        }
        this.slowest = Math.max(this.slowest, Date.now() - started);
        const failed: AskRequest[] = [];
        const now = Date.now();
        pending.forEach((item, j) => {
          const r = results[j];
          if (r?.ok) {
            this.acked.set(item.id, (this.acked.get(item.id) ?? 0) + 1);
            let ts = this.ackTimes.get(item.id);
            if (!ts) this.ackTimes.set(item.id, (ts = []));
            ts.push(now);
          } else {
            if (r?.code === 'actor_timeout') this.timeouts++;
            failed.push(item);
          }
        });
        this.resent += failed.length;
        pending = failed;
        if (failed.length > 0) await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Compares acknowledged increments with the counters' final values. */
export function check(acked: Map<string, number>, final: Map<string, number>) {
  let lost = 0;
  let twice = 0;
  for (const [id, n] of acked) {
    const v = final.get(id) ?? 0;
    if (v < n) lost += n - v;
    if (v > n) twice += v - n;
  }
  return { lost, twice };
}
