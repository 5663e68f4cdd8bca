import { Packr, Unpackr } from 'msgpackr';
import type { StoredEvent } from './stream-log.js';

// Bus payloads are our own (node to node), never a client's bytes.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true });

/**
 * One bus message of a stream: a single event as itself (the format every
 * node has always read), several events of one publish as an array of them
 * in seq order, so a burst reaches every node in one message and is handed
 * to its sockets in one turn of the event loop.
 */
export function packEvents(events: readonly StoredEvent[]): Uint8Array {
  return packr.pack(events.length === 1 ? events[0] : events);
}

/** The events of one bus message (either form of `packEvents`). */
export function unpackEvents(payload: Uint8Array): StoredEvent[] {
  const v = unpackr.unpack(payload) as StoredEvent | StoredEvent[];
  return Array.isArray(v) ? v : [v];
}

/** The events of a batch per stream, each stream's in seq order: one bus message each. */
export function byStream(events: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const out = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const list = out.get(e.stream);
    if (list) list.push(e);
    else out.set(e.stream, [e]);
  }
  for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
  return out;
}
