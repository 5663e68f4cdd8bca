import type { EvMessage, StreamPosition, SubscribeResult } from '@shutter/protocol';

interface StreamState {
  epoch: string;
  seq: number;
  history: EvMessage[];
}

/**
 * Streams as the fake server keeps them: an epoch, the last seq, and a
 * bounded history that answers `sub` with `from` the way the real server
 * must (fresh, recovered with the missed events, or refetch).
 */
export class FakeStreams {
  readonly #streams = new Map<string, StreamState>();
  readonly #historyLimit: number;
  #epochCounter = 0;

  constructor(historyLimit: number) {
    this.#historyLimit = historyLimit;
  }

  #get(name: string): StreamState {
    let s = this.#streams.get(name);
    if (!s) {
      s = { epoch: this.#newEpoch(), seq: 0, history: [] };
      this.#streams.set(name, s);
    }
    return s;
  }

  #newEpoch(): string {
    this.#epochCounter += 1;
    return `e${this.#epochCounter}`;
  }

  position(name: string): StreamPosition {
    const s = this.#get(name);
    return { epoch: s.epoch, seq: s.seq };
  }

  /** Appends one event and returns its frame (not delivered to anyone). */
  append(name: string, data: unknown): EvMessage {
    const s = this.#get(name);
    s.seq += 1;
    const ev: EvMessage = { t: 'ev', stream: name, epoch: s.epoch, seq: s.seq, data, ts: Date.now() };
    s.history.push(ev);
    if (s.history.length > this.#historyLimit) s.history.splice(0, s.history.length - this.#historyLimit);
    return ev;
  }

  /** Keeps only the newest `keep` events of the history. */
  trim(name: string, keep: number): void {
    const s = this.#get(name);
    s.history.splice(0, Math.max(0, s.history.length - keep));
  }

  /** A new epoch (as after the stream's history was lost); seq starts again at 0. */
  resetEpoch(name: string): void {
    this.#streams.set(name, { epoch: this.#newEpoch(), seq: 0, history: [] });
  }

  subscribe(
    name: string,
    from: StreamPosition | undefined,
  ): { result: SubscribeResult; replay: EvMessage[] } {
    const s = this.#get(name);
    const base = { epoch: s.epoch, seq: s.seq };
    if (!from) return { result: { ...base, status: 'fresh', missed: 0 }, replay: [] };
    const oldest = s.history[0]?.seq ?? s.seq + 1;
    const reachable = from.epoch === s.epoch && from.seq <= s.seq && from.seq + 1 >= oldest;
    if (!reachable) return { result: { ...base, status: 'refetch', missed: 0 }, replay: [] };
    const replay = s.history.filter((e) => e.seq > from.seq);
    return { result: { ...base, status: 'recovered', missed: replay.length }, replay };
  }
}
