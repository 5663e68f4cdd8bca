/**
 * At most `limit` holders at once; the others wait in arrival order. Used to
 * bound the history reads a node makes at once (after a bus reconnect every
 * stream it holds wants one).
 */
export class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most holders seen at once (for tests and stats). */
  peak = 0;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`a slot limit must be at least 1, not ${limit}`);
  }

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.held++;
    this.peak = Math.max(this.peak, this.held);
    try {
      return await f();
    } finally {
      // Hand the slot straight to the next waiter (held stays the same), or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    }
  }
}
