/** A summary of turn times: count, total and percentiles from log2 buckets. */
export interface TurnTimeSummary {
  /** Turns run (handled or failed). */
  count: number;
  /** Turns timed: one in `TURN_SAMPLE` (two clock reads per turn would cost ~3 % of a local ask). */
  sampled: number;
  meanMs: number;
  maxMs: number;
  /** Upper bounds of the bucket holding the percentile (resolution: a factor of 2). */
  p50Ms: number;
  p99Ms: number;
}

/** Per-system figures, as a plain object; the server maps them to Prometheus. */
export interface ActorSystemStats {
  /** Live activations now, and messages waiting in their mailboxes now. */
  activations: number;
  mailboxDepth: number;
  /** Totals since start. */
  activated: number;
  passivated: number;
  activationFailures: number;
  messagesHandled: number;
  handlerFailures: number;
  dedupedReplies: number;
  timeouts: number;
  routedLocal: number;
  routedRemote: number;
  retries: number;
  stateWrites: number;
  stateWriteFailures: number;
  /** Writes the store refused on their own (`state_rejected`: isolated from their batch, not retried). */
  stateWritesRejected: number;
  /** Batches whose transaction failed and were split to find the failing writes. */
  batchSplits: number;
  /** Keyed messages looked up in the store's key table (not answered from memory), and lookups run. */
  keyLookups: number;
  keyLookupBatches: number;
  turnTime: TurnTimeSummary;
}

export const TURN_SAMPLE = 8;

/** Mutable counters behind `stats()`; microsecond turn times in 32 log2 buckets. */
export class StatsRecorder {
  readonly c = {
    activations: 0,
    mailboxDepth: 0,
    activated: 0,
    passivated: 0,
    activationFailures: 0,
    messagesHandled: 0,
    handlerFailures: 0,
    dedupedReplies: 0,
    timeouts: 0,
    routedLocal: 0,
    routedRemote: 0,
    retries: 0,
    stateWrites: 0,
    stateWriteFailures: 0,
    stateWritesRejected: 0,
    batchSplits: 0,
    keyLookups: 0,
    keyLookupBatches: 0,
  };
  private readonly buckets = new Uint32Array(32);
  private started = 0;
  private turns = 0;
  private sumMs = 0;
  private maxMs = 0;

  /** Call when a turn starts; pass the result to `turnEnd`. -1 means "not sampled". */
  turnStart(): number {
    return this.started++ % TURN_SAMPLE === 0 ? performance.now() : -1;
  }

  turnEnd(start: number): void {
    if (start >= 0) this.turn(performance.now() - start);
  }

  private turn(ms: number): void {
    this.turns++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    const us = Math.ceil(ms * 1000);
    this.buckets[Math.min(31, 32 - Math.clz32(us))]!++;
  }

  snapshot(): ActorSystemStats {
    return {
      ...this.c,
      turnTime: {
        count: this.started,
        sampled: this.turns,
        meanMs: this.turns === 0 ? 0 : this.sumMs / this.turns,
        maxMs: this.maxMs,
        p50Ms: this.percentile(0.5),
        p99Ms: this.percentile(0.99),
      },
    };
  }

  private percentile(q: number): number {
    if (this.turns === 0) return 0;
    const want = Math.ceil(this.turns * q);
    let seen = 0;
    for (let i = 0; i < 32; i++) {
      seen += this.buckets[i]!;
      // Bucket i holds turns of at most 2^i - 1 µs (bucket 0: 0 µs).
      if (seen >= want) return Math.min(this.maxMs, (2 ** i - 1) / 1000);
    }
    return this.maxMs;
  }
}
