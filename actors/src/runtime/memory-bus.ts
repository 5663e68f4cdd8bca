import {
  type Bus,
  BusClosed,
  BusNoResponders,
  BusRemoteError,
  type BusStatusListener,
  type BusSubscription,
  BusTimeout,
  type MessageHandler,
  type RequestHandler,
  type SubscribeOptions,
  subjectMatches,
} from './bus.js';

interface Entry {
  pattern: string;
  queue: string | undefined;
  onMessage: MessageHandler | undefined;
  onRequest: RequestHandler | undefined;
  active: boolean;
}

/**
 * In-process bus: the embedded default of a single node. Delivery happens on
 * a later microtask so handlers never run inside the caller's frame, as on NATS.
 */
export class MemoryBus implements Bus {
  private readonly entries = new Set<Entry>();
  private readonly exact = new Map<string, Set<Entry>>();
  private readonly wild = new Set<Entry>();
  private closed = false;
  private rr = 0;

  publish(subject: string, payload: Uint8Array): void {
    if (this.closed) throw new BusClosed();
    const targets = this.pick(subject, (e) => e.onMessage !== undefined);
    if (targets.length === 0) return;
    queueMicrotask(() => {
      for (const e of targets) if (e.active) e.onMessage?.(payload, subject);
    });
  }

  subscribe(subject: string, handler: MessageHandler, options: SubscribeOptions = {}): BusSubscription {
    return this.add(subject, options.queue, handler, undefined);
  }

  serve(subject: string, handler: RequestHandler, options: SubscribeOptions = {}): BusSubscription {
    return this.add(subject, options.queue, undefined, handler);
  }

  async request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    if (this.closed) throw new BusClosed();
    const [target] = this.pick(subject, (e) => e.onRequest !== undefined);
    if (!target) {
      await Promise.resolve();
      throw new BusNoResponders(subject);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BusTimeout(subject, options.timeoutMs)), options.timeoutMs);
      queueMicrotask(() => {
        Promise.resolve()
          .then(() => target.onRequest!(payload, subject))
          .then(
            (reply) => {
              clearTimeout(timer);
              resolve(reply);
            },
            (err: unknown) => {
              clearTimeout(timer);
              reject(new BusRemoteError(err instanceof Error ? err.message : String(err)));
            },
          );
      });
    });
  }

  async flush(): Promise<void> {}

  /** In process: never disconnected, so nothing to report. */
  onStatus(_listener: BusStatusListener): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries) e.active = false;
    this.entries.clear();
    this.exact.clear();
    this.wild.clear();
  }

  private add(
    pattern: string,
    queue: string | undefined,
    onMessage: MessageHandler | undefined,
    onRequest: RequestHandler | undefined,
  ): BusSubscription {
    if (this.closed) throw new BusClosed();
    const entry: Entry = { pattern, queue, onMessage, onRequest, active: true };
    this.entries.add(entry);
    if (pattern.includes('*') || pattern.includes('>')) this.wild.add(entry);
    else {
      let set = this.exact.get(pattern);
      if (!set) this.exact.set(pattern, (set = new Set()));
      set.add(entry);
    }
    return {
      subject: pattern,
      unsubscribe: () => {
        entry.active = false;
        this.entries.delete(entry);
        this.wild.delete(entry);
        const set = this.exact.get(pattern);
        if (set?.delete(entry) && set.size === 0) this.exact.delete(pattern);
      },
    };
  }

  /** Every plain subscriber, plus one member per queue group (round robin). */
  private pick(subject: string, want: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    let groups: Map<string, Entry[]> | undefined;
    const consider = (e: Entry) => {
      if (!want(e)) return;
      if (e.queue === undefined) out.push(e);
      else {
        groups ??= new Map();
        const g = groups.get(e.queue);
        if (g) g.push(e);
        else groups.set(e.queue, [e]);
      }
    };
    const set = this.exact.get(subject);
    if (set) for (const e of set) consider(e);
    for (const e of this.wild) if (subjectMatches(e.pattern, subject)) consider(e);
    if (groups) for (const g of groups.values()) out.push(g[this.rr++ % g.length]!);
    return out;
  }
}
