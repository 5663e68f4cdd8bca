/**
 * Group commit for a queue's enqueue: items added while an enqueue is in
 * flight go together in the next one, so under load many domain events
 * cost one durable job, and alone an item goes at once (no added wait).
 * `add` resolves when the batch holding the item is durable, and rejects
 * with its enqueue's error: an event's emitter never answers before its
 * job is stored.
 */
export class GroupEnqueue<T> {
  private pending: { item: T; weight: number; done: (err?: unknown) => void }[] = [];
  private busy = false;

  /**
   * @param enqueue stores one batch durably
   * @param maxWeight a batch's largest total weight (the items' sizes, e.g. likers), so a job stays small
   */
  constructor(
    private readonly enqueue: (items: T[]) => Promise<void>,
    private readonly maxWeight: number,
  ) {}

  add(item: T, weight = 1): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, weight, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.pending.length) {
      let weight = 0;
      let n = 0;
      while (
        n < this.pending.length &&
        (n === 0 || weight + (this.pending[n]?.weight ?? 0) <= this.maxWeight)
      )
        weight += this.pending[n++]?.weight ?? 0;
      const batch = this.pending.splice(0, n);
      try {
        await this.enqueue(batch.map((b) => b.item));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err ?? new Error('enqueue failed'));
      }
    }
    this.busy = false;
  }
}
