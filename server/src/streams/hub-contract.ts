import type { Codec, EvMessage, Frame } from '@shutter/protocol';
import type { StoredEvent } from './stream-log.js';

// What the stream hub offers and asks of the rest of the node: its members and
// the engine's fan-out, its figures and options, and the names it gives streams
// on the bus and in the engine's topics.

/** A subscriber as the hub sees it: one socket, one codec. */
export interface HubMember {
  readonly codec: Codec;
  /** Sends one frame to this member alone. */
  sendFrame(frame: Frame): void;
  /** Joins / leaves the engine's native fan-out topic. */
  joinTopic(topic: string): void;
  leaveTopic(topic: string): void;
  readonly isOpen: boolean;
}

export interface FanOut {
  /** Hands one encoded frame to every member joined to `topic` (the engine's fan-out). */
  publish(topic: string, frame: Frame): void;
}

export interface HubStats {
  streams: number;
  /** Events received from the bus. */
  eventsIn: number;
  framesOut: number;
  /** Bus events dropped because this node had already handed them on (from the history). */
  duplicates: number;
  /** Catch-ups: reads of the history after a hole in the bus's events, a bus reconnect, or a join ahead of the bus. */
  catchUps: number;
  /** Events handed on from the history by catch-ups, which the bus had not (yet) brought. */
  caughtUp: number;
  /** Holes the history no longer reached: subscribers were shown the newest event, a gap, so they refetch. */
  gapsRevealed: number;
  /** Events this node republished after the bus came back, that may have been lost on it. */
  republished: number;
}

export interface StreamHubOptions {
  /** How often streams with subscribers on this node have their history's TTL refreshed (ms); 0: never. */
  keepAliveMs?: number;
  /** How often the hub confirms that its recent publishes reached the bus (ms). */
  checkpointMs?: number;
  /** A catch-up that failed (it is retried after `retryMs`). */
  onError?: (err: unknown, stream: string) => void;
  retryMs?: number;
  /** Most history reads of catch-ups at once (a bus reconnect asks one per stream held); default 32. */
  catchUpConcurrency?: number;
}

export function subjectOf(stream: string): string {
  // Stream names never contain '~' and NATS subjects split on '.'.
  return `ev.${stream.replaceAll('.', '~')}`;
}

export function topicOf(codec: Codec, stream: string): string {
  return `${codec.name}:${stream}`;
}

export function evMessage(e: StoredEvent): EvMessage {
  return { t: 'ev', stream: e.stream, epoch: e.epoch, seq: e.seq, data: e.data, ts: e.ts };
}
