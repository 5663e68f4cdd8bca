import {
  type Bus,
  type BusStatus,
  type BusStatusListener,
  type BusSubscription,
  MemoryBus,
  type MessageHandler,
} from '@shutter/actors';
import { type Codec, type Frame, jsonCodec, msgpackCodec } from '@shutter/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStreamLog } from './memory-stream-log.js';
import { type FanOut, type HubMember, StreamHub, topicOf } from './stream-hub.js';

/**
 * One node's view of a shared in-process bus that can lose, hold back and
 * reorder that node's traffic, and report disconnects, as NATS does.
 */
class FaultyBus implements Bus {
  /** Publishes from this node are lost (nats.js drops what it queued while disconnected). */
  losePublishes = false;
  /** Messages to this node are lost (they were published while it was away). */
  loseDeliveries = false;
  /** Messages to this node wait until `release()` (in flight). */
  hold = false;
  private held: (() => void)[] = [];
  private readonly listeners = new Set<BusStatusListener>();

  constructor(private readonly shared: MemoryBus) {}

  publish(subject: string, payload: Uint8Array): void {
    if (!this.losePublishes) this.shared.publish(subject, payload);
  }

  subscribe(subject: string, handler: MessageHandler): BusSubscription {
    return this.shared.subscribe(subject, (p, s) => {
      if (this.loseDeliveries) return;
      if (this.hold) this.held.push(() => handler(p, s));
      else handler(p, s);
    });
  }

  /** Delivers what was held back, in the order given (default: as it came). */
  release(order?: (n: number) => number[]): void {
    const held = this.held;
    this.held = [];
    this.hold = false;
    for (const i of order ? order(held.length) : held.keys()) held[i]!();
  }

  request(): Promise<Uint8Array> {
    throw new Error('not used');
  }
  serve(): BusSubscription {
    throw new Error('not used');
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  onStatus(l: BusStatusListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  status(s: BusStatus): void {
    for (const l of this.listeners) l(s);
  }
}

class FakeFanOut implements FanOut {
  readonly topics = new Map<string, Set<FakeMember>>();
  publish(topic: string, frame: Frame): void {
    for (const m of this.topics.get(topic) ?? []) m.received.push(frame);
  }
}

class FakeMember implements HubMember {
  readonly received: Frame[] = [];
  isOpen = true;
  constructor(
    readonly codec: Codec,
    private readonly fanOut: FakeFanOut,
  ) {}
  sendFrame(frame: Frame): void {
    this.received.push(frame);
  }
  joinTopic(topic: string): void {
    let set = this.fanOut.topics.get(topic);
    if (!set) this.fanOut.topics.set(topic, (set = new Set()));
    set.add(this);
  }
  leaveTopic(topic: string): void {
    this.fanOut.topics.get(topic)?.delete(this);
  }
  seqs(): number[] {
    return this.received.map((f) => (this.codec.decode(f) as { seq: number }).seq);
  }
}

const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
};
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('StreamHub delivery: in order, once, and told of every hole', () => {
  const shared = new MemoryBus();
  const hubs: StreamHub[] = [];
  const logs: MemoryStreamLog[] = [];

  /** A node: its own bus view and hub, over the shared bus and a shared history. */
  function node(log: MemoryStreamLog, historyLimit = 100) {
    const bus = new FaultyBus(shared);
    const fanOut = new FakeFanOut();
    const hub = new StreamHub(bus, log, fanOut, historyLimit, { checkpointMs: 0 });
    hubs.push(hub);
    const join = async (stream: string, from?: { epoch: string; seq: number }, codec: Codec = jsonCodec) => {
      const m = new FakeMember(codec, fanOut);
      const j = await hub.join(stream, m, from);
      j!.deliver();
      return { m, result: j!.result };
    };
    return { bus, hub, fanOut, join };
  }
  function history(maxEvents = 1000) {
    const log = new MemoryStreamLog({ maxEvents, ttlSeconds: 3600 });
    logs.push(log);
    return log;
  }

  afterEach(async () => {
    for (const h of hubs.splice(0)) h.close();
    for (const l of logs.splice(0)) await l.close();
  });

  it('a member resuming while an event is still on the bus gets it once: replayed, not again live (issue 8.6)', async () => {
    const log = history();
    const b = node(log);
    const stream = 'topic:race';
    const { m: watcher } = await b.join(stream);
    const e1 = await b.hub.publish(stream, 1);
    await settle();
    // Event 2 is in the history but still travelling on the bus when the resume reads the history.
    b.bus.hold = true;
    await b.hub.publish(stream, 2);
    const { m, result } = await b.join(stream, e1);
    expect(result).toMatchObject({ status: 'recovered', seq: 2, missed: 1 });
    b.bus.release();
    await settle();
    await b.hub.publish(stream, 3);
    await settle();
    expect(m.seqs()).toEqual([2, 3]);
    expect(watcher.seqs()).toEqual([1, 2, 3]);
  });

  it('a fresh member joining while events are on the bus gets only later ones, each once', async () => {
    const log = history();
    const b = node(log);
    const stream = 'topic:fresh-race';
    const { m: watcher } = await b.join(stream);
    b.bus.hold = true;
    for (let i = 1; i <= 3; i++) await b.hub.publish(stream, i);
    const { m, result } = await b.join(stream, undefined, msgpackCodec);
    expect(result).toMatchObject({ status: 'fresh', seq: 3 });
    b.bus.release();
    await settle();
    await b.hub.publish(stream, 4);
    await settle();
    expect(m.seqs()).toEqual([4]);
    expect(watcher.seqs()).toEqual([1, 2, 3, 4]);
  });

  it('a bus event lost in flight is filled from the history as soon as the next one shows the hole', async () => {
    const log = history();
    const b = node(log);
    const stream = 'topic:lost-one';
    const { m } = await b.join(stream);
    await b.hub.publish(stream, 1);
    await settle();
    b.bus.loseDeliveries = true;
    await b.hub.publish(stream, 2);
    await settle();
    b.bus.loseDeliveries = false;
    await b.hub.publish(stream, 3);
    await settle();
    expect(m.seqs()).toEqual([1, 2, 3]);
    // 2 and 3 came from the history; the bus's 3, once its turn had passed, was dropped.
    expect(b.hub.stats).toMatchObject({ caughtUp: 2, duplicates: 1 });
  });

  it('events of concurrent writers that arrive out of order are handed on in seq order, once', async () => {
    const log = history();
    const b = node(log);
    const stream = 'topic:reorder';
    const { m } = await b.join(stream);
    b.bus.hold = true;
    for (let i = 1; i <= 6; i++) await b.hub.publish(stream, i);
    b.bus.release((n) => [...Array(n).keys()].reverse());
    await settle();
    expect(m.seqs()).toEqual(range(1, 6));
  });

  it('after this node reconnects to the bus, every stream it holds is caught up at once, without a further event', async () => {
    const log = history();
    const a = node(log);
    const b = node(log);
    const streams = ['topic:out1', 'topic:out2'];
    const members = await Promise.all(streams.map((s) => b.join(s)));
    await a.hub.publish(streams[0]!, 0);
    await settle();
    b.bus.status('disconnected');
    b.bus.loseDeliveries = true;
    for (let i = 1; i <= 5; i++) for (const s of streams) await a.hub.publish(s, i);
    await settle();
    expect(members[1]!.m.seqs()).toEqual([]);
    b.bus.loseDeliveries = false;
    b.bus.status('reconnected');
    await settle();
    expect(members[0]!.m.seqs()).toEqual(range(1, 6));
    expect(members[1]!.m.seqs()).toEqual(range(1, 5));
  });

  it('a reconnect with many streams catches them all up, at most catchUpConcurrency history reads at once', async () => {
    const log = history();
    const a = node(log);
    const bus = new FaultyBus(shared);
    const fanOut = new FakeFanOut();
    let reading = 0;
    let mostAtOnce = 0;
    // The history as seen by B: every read takes a few turns, so reads that start together overlap.
    const slowLog = Object.create(log) as MemoryStreamLog;
    slowLog.readAfter = async (...args: Parameters<MemoryStreamLog['readAfter']>) => {
      reading++;
      mostAtOnce = Math.max(mostAtOnce, reading);
      try {
        await settle(3);
        return await log.readAfter(...args);
      } finally {
        reading--;
      }
    };
    const b = new StreamHub(bus, slowLog, fanOut, 100, { checkpointMs: 0, catchUpConcurrency: 4 });
    hubs.push(b);
    const streams = Array.from({ length: 40 }, (_, k) => `topic:many-${k}`);
    const members = [];
    for (const s of streams) {
      const m = new FakeMember(jsonCodec, fanOut);
      (await b.join(s, m, undefined))!.deliver();
      members.push(m);
    }
    mostAtOnce = 0;
    bus.status('disconnected');
    bus.loseDeliveries = true;
    for (let i = 1; i <= 3; i++) for (const s of streams) await a.hub.publish(s, i);
    await settle();
    bus.loseDeliveries = false;
    bus.status('reconnected');
    await settle(200);
    for (const m of members) expect(m.seqs()).toEqual([1, 2, 3]);
    expect(mostAtOnce).toBe(4);
    expect(b.catchUpSlots.peak).toBe(4);
  });

  it('what a node published while its bus was away is published again on reconnect, so other nodes catch up at once', async () => {
    const log = history();
    const a = node(log);
    const b = node(log);
    const stream = 'topic:publisher-down';
    const { m } = await b.join(stream);
    await a.hub.publish(stream, 1);
    await settle();
    // Only A lost the bus: B hears nothing unusual.
    a.bus.status('disconnected');
    a.bus.losePublishes = true;
    for (let i = 2; i <= 8; i++) await a.hub.publish(stream, i);
    await settle();
    expect(m.seqs()).toEqual([1]);
    a.bus.losePublishes = false;
    a.bus.status('reconnected');
    await settle();
    expect(m.seqs()).toEqual(range(1, 8));
    expect(a.hub.stats.republished).toBe(1);
  });

  it('when the history no longer reaches, subscribers are shown the newest event at once: a gap, so they refetch', async () => {
    const log = history(3);
    const b = node(log);
    const stream = 'topic:too-far';
    const { m } = await b.join(stream);
    await b.hub.publish(stream, 1);
    await settle();
    b.bus.status('disconnected');
    b.bus.loseDeliveries = true;
    for (let i = 2; i <= 10; i++) await b.hub.publish(stream, i);
    b.bus.loseDeliveries = false;
    b.bus.status('reconnected');
    await settle();
    expect(m.seqs()).toEqual([1, 10]);
    expect(b.hub.stats.gapsRevealed).toBe(1);
    // Resuming from its position (as §6.5 asks on a gap) answers refetch.
    const { m: again, result } = await b.join(stream, { epoch: (await log.head(stream)).epoch, seq: 1 });
    expect(result).toMatchObject({ status: 'refetch', seq: 10 });
    await b.hub.publish(stream, 11);
    await settle();
    expect(again.seqs()).toEqual([11]);
    expect(m.seqs()).toEqual([1, 10, 11]);
  });

  it('a history lost under a live subscriber: it gets the new epoch at once and then every event in order', async () => {
    let now = 1_000_000;
    const log = new MemoryStreamLog({ maxEvents: 100, ttlSeconds: 10 }, () => now);
    logs.push(log);
    const b = node(log);
    const stream = 'topic:new-epoch';
    const { m, result } = await b.join(stream);
    const e1 = await b.hub.publish(stream, 1);
    expect(e1.epoch).toBe(result.epoch);
    await settle();
    now += 11_000; // the history expires (nobody refreshed it: no keep-alive in this hub)
    // Both new-epoch events reach the hub before it has looked at the history.
    b.bus.hold = true;
    const n1 = await b.hub.publish(stream, 'new 1');
    expect(n1.epoch).not.toBe(e1.epoch);
    await b.hub.publish(stream, 'new 2');
    b.bus.release();
    await settle();
    const evs = m.received.map((f) => jsonCodec.decode(f) as { epoch: string; seq: number });
    expect(evs.map((e) => [e.epoch, e.seq])).toEqual([
      [e1.epoch, 1],
      [n1.epoch, 1],
      [n1.epoch, 2],
    ]);
  });

  it('a quiet stream keeps its epoch past the TTL while a node has a subscriber, and loses it once nobody has', async () => {
    const log = new MemoryStreamLog({ maxEvents: 100, ttlSeconds: 1 });
    logs.push(log);
    const bus = new FaultyBus(shared);
    const fanOut = new FakeFanOut();
    const hub = new StreamHub(bus, log, fanOut, 100, { keepAliveMs: 300, checkpointMs: 0 });
    hubs.push(hub);
    const stream = 'topic:quiet';
    const first = await hub.publish(stream, 1);
    const m = new FakeMember(jsonCodec, fanOut);
    const j = await hub.join(stream, m, first);
    j!.deliver();
    await new Promise((r) => setTimeout(r, 2500));
    const second = await hub.publish(stream, 2);
    expect(second).toEqual({ epoch: first.epoch, seq: 2 });
    await settle();
    expect(m.seqs()).toEqual([2]);

    hub.leave(stream, m);
    expect(fanOut.topics.get(topicOf(jsonCodec, stream))?.size ?? 0).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await log.head(stream)).epoch).not.toBe(first.epoch);
  });
});
