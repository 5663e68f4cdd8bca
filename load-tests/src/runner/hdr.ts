/**
 * A small HDR-like histogram for non-negative values: logarithmic buckets
 * 2 % wide from 0.001 up (values below fall in bucket 0), so any quantile is
 * within 2 % of the true value; count, sum, min and max are exact. Sparse, so
 * one per second per metric is cheap, and merging (worker → runner) is adding
 * bucket counts.
 */
const BASE = 0.001;
const GROWTH = Math.log(1.02);

export interface HdrData {
  buckets: [index: number, count: number][];
  count: number;
  sum: number;
  min: number;
  max: number;
}

export class Hdr {
  private readonly counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  static index(v: number): number {
    return v <= BASE ? 0 : Math.ceil(Math.log(v / BASE) / GROWTH);
  }

  /** The upper edge of bucket `i`. */
  static edge(i: number): number {
    return i === 0 ? BASE : BASE * Math.exp(i * GROWTH);
  }

  record(v: number): void {
    if (!Number.isFinite(v)) return;
    const x = Math.max(0, v);
    const i = Hdr.index(x);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    this.count++;
    this.sum += x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  merge(d: HdrData): void {
    for (const [i, c] of d.buckets) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
    this.count += d.count;
    this.sum += d.sum;
    if (d.count > 0) {
      this.min = Math.min(this.min, d.min);
      this.max = Math.max(this.max, d.max);
    }
  }

  data(): HdrData {
    return { buckets: [...this.counts], count: this.count, sum: this.sum, min: this.min, max: this.max };
  }

  get avg(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  /** Quantile `q` in [0, 1]: the upper edge of the bucket that holds it, clamped to [min, max]. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const want = Math.ceil(q * this.count);
    const sorted = [...this.counts].sort((a, b) => a[0] - b[0]);
    let seen = 0;
    for (const [i, c] of sorted) {
      seen += c;
      if (seen >= want) return Math.min(this.max, Math.max(this.min, Hdr.edge(i)));
    }
    return this.max;
  }
}
