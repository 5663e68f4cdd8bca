/**
 * The bounded history of every stream: assigns each event its seq, keeps the
 * newest events for resume, and answers "what came after (epoch, seq)".
 * Adapters: `MemoryStreamLog` (one node; the embedded default) and
 * `RedisStreamLog` (shared by every node, so a client resumes anywhere).
 * Both pass `streamLogContract`.
 *
 * Contract:
 * - A stream's epoch is created with its first event and changes only when
 *   its history is lost (expired after `ttlSeconds` without events or
 *   `touch`, or the store was wiped). seq starts at 1 in each epoch and grows by exactly 1.
 * - `append` is atomic: concurrent appends to one stream get distinct,
 *   consecutive seqs (`appendMany` too, entry by entry).
 * - `head` of a stream that has no history yet creates its epoch at seq 0,
 *   so a subscriber's first position is stable.
 * - `readAfter(from)` answers `ok` with every event after `from.seq` (at most
 *   `limit`, oldest first) when the epoch matches and the history still
 *   reaches `from.seq + 1`; otherwise `refetch` with the current head.
 */
export interface StreamLog {
  append(stream: string, data: unknown, ts: number): Promise<StoredEvent>;
  /**
   * Appends many events at once (a fan-out: one event to each of many
   * streams), in order: as `append` one after the other, so events of one
   * stream get consecutive seqs in the order given. Cheaper than as many
   * `append`s (one round trip per chunk, a payload shared by several
   * entries encoded once). Not atomic as a whole: a failure may leave some
   * appended.
   */
  appendMany(entries: readonly { stream: string; data: unknown }[], ts: number): Promise<StoredEvent[]>;
  head(stream: string): Promise<StreamHead>;
  readAfter(stream: string, from: StreamHead, limit: number): Promise<ReadResult>;
  /** Restarts the TTL of these streams' histories, as an event would, without adding one (no-op for a stream without history). */
  touch(streams: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** The events `options` keep for `stream`: its kind's own history where it has one, else `maxEvents`. */
export function historyFor(options: StreamLogOptions, stream: string): number {
  return options.historyOf?.(stream) ?? options.maxEvents;
}

export interface StreamHead {
  epoch: string;
  seq: number;
}

export interface StoredEvent {
  stream: string;
  epoch: string;
  seq: number;
  ts: number;
  data: unknown;
}

export type ReadResult =
  | { status: 'ok'; head: StreamHead; events: StoredEvent[] }
  | { status: 'refetch'; head: StreamHead };

export interface StreamLogOptions {
  /** Events kept per stream. */
  maxEvents: number;
  /**
   * Events kept for this stream, where its kind keeps fewer than
   * `maxEvents` (a stream whose every event is the whole state, such as a
   * nearby list, needs only its last); undefined: `maxEvents`.
   */
  historyOf?: (stream: string) => number | undefined;
  /** A stream with no event for this long loses its history (and its epoch). */
  ttlSeconds: number;
}
