/**
 * A latency histogram with 0.1 ms buckets up to 60 s (longer waits land in
 * the last bucket). Client processes fill one each; the orchestrator merges
 * their non-empty buckets.
 */
const BUCKET_MS = 0.1;
const BUCKETS = 600_000;

export type SparseHistogram = [bucket: number, count: number][];

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  sparse(): SparseHistogram {
    const out: SparseHistogram = [];
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i] ?? 0;
      if (c > 0) out.push([i, c]);
    }
    return out;
  }

  merge(s: SparseHistogram): void {
    for (const [b, c] of s) {
      this.counts[b] = (this.counts[b] ?? 0) + c;
      this.count += c;
      this.max = Math.max(this.max, (b + 1) * BUCKET_MS);
    }
  }

  /** The upper edge of the bucket holding quantile `q` (0..1), in ms. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const want = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= want) return (i + 1) * BUCKET_MS;
    }
    return this.max;
  }
}
