import { type BusSubscription, MemoryBus, type MessageHandler, type SubscribeOptions } from '@shutter/actors';
import { type Codec, type Frame, jsonCodec, msgpackCodec } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStreamLog } from './memory-stream-log.js';
import { type FanOut, type HubMember, StreamHub, subjectOf, topicOf } from './stream-hub.js';

/** The in-memory bus, counting live subscriptions per subject. */
class CountingBus extends MemoryBus {
  readonly subscribed: string[] = [];
  readonly unsubscribed: string[] = [];
  readonly live = new Map<string, number>();

  override subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): BusSubscription {
    const sub = super.subscribe(subject, handler, options);
    this.subscribed.push(subject);
    this.live.set(subject, (this.live.get(subject) ?? 0) + 1);
    return {
      subject: sub.subject,
      unsubscribe: () => {
        this.unsubscribed.push(subject);
        const n = (this.live.get(subject) ?? 0) - 1;
        if (n > 0) this.live.set(subject, n);
        else this.live.delete(subject);
        sub.unsubscribe();
      },
    };
  }
}

/** The engine's topic fan-out: hands each published frame to every member joined to the topic. */
class FakeFanOut implements FanOut {
  readonly topics = new Map<string, Set<FakeMember>>();
  readonly published: { topic: string; frame: Frame }[] = [];

  publish(topic: string, frame: Frame): void {
    this.published.push({ topic, frame });
    for (const m of this.topics.get(topic) ?? []) m.received.push(frame);
  }
}

class FakeMember implements HubMember {
  readonly received: Frame[] = [];
  readonly topics = new Set<string>();
  isOpen = true;

  constructor(
    readonly codec: Codec,
    private readonly fanOut: FakeFanOut,
  ) {}

  sendFrame(frame: Frame): void {
    this.received.push(frame);
  }

  joinTopic(topic: string): void {
    this.topics.add(topic);
    let set = this.fanOut.topics.get(topic);
    if (!set) this.fanOut.topics.set(topic, (set = new Set()));
    set.add(this);
  }

  leaveTopic(topic: string): void {
    this.topics.delete(topic);
    this.fanOut.topics.get(topic)?.delete(this);
  }

  /** The events this member got, decoded with its own codec. */
  events(): { t: string; stream: string; seq: number; data: unknown }[] {
    return this.received.map(
      (f) => this.codec.decode(f) as { t: string; stream: string; seq: number; data: unknown },
    );
  }
}

/** Lets the bus's microtask delivery run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('StreamHub', () => {
  let bus: CountingBus;
  let log: MemoryStreamLog;
  let fanOut: FakeFanOut;
  let hub: StreamHub;

  beforeEach(() => {
    bus = new CountingBus();
    log = new MemoryStreamLog({ maxEvents: 100, ttlSeconds: 3600 });
    fanOut = new FakeFanOut();
    hub = new StreamHub(bus, log, fanOut, 100);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    hub.close();
    await log.close();
    await bus.close();
  });

  async function join(stream: string, codec: Codec): Promise<FakeMember> {
    const m = new FakeMember(codec, fanOut);
    const joined = await hub.join(stream, m, undefined);
    expect(joined?.result.status).toBe('fresh');
    joined!.deliver();
    return m;
  }

  it('100 members on one stream share one bus subscription, released when the last one leaves', async () => {
    const stream = 'room:r1';
    // Joined concurrently: all hundred are pending on the same interest at once.
    const members = await Promise.all(
      Array.from({ length: 100 }, (_, i) => join(stream, i % 2 ? msgpackCodec : jsonCodec)),
    );
    expect(bus.subscribed).toEqual([subjectOf(stream)]);
    expect(bus.live.get(subjectOf(stream))).toBe(1);
    expect(hub.stats.streams).toBe(1);
    for (const m of members) expect(m.topics).toEqual(new Set([topicOf(m.codec, stream)]));

    // Sequential joins after the first batch reuse it too.
    const late = await join(stream, jsonCodec);
    expect(bus.subscribed).toHaveLength(1);

    hub.leave(stream, late);
    for (const m of members.slice(0, 99)) hub.leave(stream, m);
    expect(bus.unsubscribed).toEqual([]);
    expect(bus.live.get(subjectOf(stream))).toBe(1);
    expect(hub.stats.streams).toBe(1);

    hub.leave(stream, members[99]!);
    expect(bus.unsubscribed).toEqual([subjectOf(stream)]);
    expect(bus.live.size).toBe(0);
    expect(hub.stats.streams).toBe(0);
    for (const m of members) expect(m.topics.size).toBe(0);

    // Leaving twice, or a stream never joined, changes nothing.
    hub.leave(stream, members[0]!);
    hub.leave('room:never', members[0]!);
    expect(bus.unsubscribed).toHaveLength(1);

    // Nothing arrives after the interest is gone.
    await hub.publish(stream, { after: 'everyone left' });
    await settle();
    expect(hub.stats.eventsIn).toBe(0);
    expect(fanOut.published).toEqual([]);

    // A new member subscribes afresh.
    const again = await join(stream, jsonCodec);
    expect(bus.subscribed).toEqual([subjectOf(stream), subjectOf(stream)]);
    expect(bus.live.get(subjectOf(stream))).toBe(1);
    hub.leave(stream, again);
    expect(bus.live.size).toBe(0);
  });

  it('one bus subscription per stream: two streams, two subscriptions, each released on its own', async () => {
    const a = await Promise.all([join('room:a', jsonCodec), join('room:a', jsonCodec)]);
    const b = await Promise.all([join('room:b', msgpackCodec), join('room:b', jsonCodec)]);
    expect([...bus.subscribed].sort()).toEqual([subjectOf('room:a'), subjectOf('room:b')]);
    expect(hub.stats.streams).toBe(2);
    for (const m of a) hub.leave('room:a', m);
    expect(bus.unsubscribed).toEqual([subjectOf('room:a')]);
    expect(bus.live.get(subjectOf('room:b'))).toBe(1);
    expect(hub.stats.streams).toBe(1);
    for (const m of b) hub.leave('room:b', m);
    expect(bus.live.size).toBe(0);
    expect(hub.stats.streams).toBe(0);
  });

  it('a member that closes while joining does not keep the subscription', async () => {
    const m = new FakeMember(jsonCodec, fanOut);
    const pending = hub.join('room:c', m, undefined);
    expect(bus.live.get(subjectOf('room:c'))).toBe(1);
    m.isOpen = false;
    expect(await pending).toBeUndefined();
    expect(bus.unsubscribed).toEqual([subjectOf('room:c')]);
    expect(bus.live.size).toBe(0);
    expect(hub.stats.streams).toBe(0);

    // Closed between the answer and deliver(): released at deliver, never joined to a topic.
    const n = new FakeMember(msgpackCodec, fanOut);
    const joined = await hub.join('room:c', n, undefined);
    n.isOpen = false;
    joined!.deliver();
    expect(n.topics.size).toBe(0);
    expect(bus.live.size).toBe(0);
    expect(hub.stats.streams).toBe(0);
  });

  it('an event is encoded once per codec in use and every member receives it', async () => {
    const stream = 'room:fan';
    const jsonMembers = await Promise.all(Array.from({ length: 60 }, () => join(stream, jsonCodec)));
    const packMembers = await Promise.all(Array.from({ length: 40 }, () => join(stream, msgpackCodec)));
    const jsonEncode = vi.spyOn(jsonCodec, 'encode');
    const packEncode = vi.spyOn(msgpackCodec, 'encode');

    const data = { type: 'photo.added', id: 'p1', caption: 'é 🌄' };
    const { epoch, seq } = await hub.publish(stream, data);
    await settle();

    expect(jsonEncode).toHaveBeenCalledTimes(1);
    expect(packEncode).toHaveBeenCalledTimes(1);
    expect(fanOut.published.map((p) => p.topic).sort()).toEqual([
      topicOf(jsonCodec, stream),
      topicOf(msgpackCodec, stream),
    ]);
    const jsonFrame = fanOut.published.find((p) => p.topic === topicOf(jsonCodec, stream))!.frame;
    const packFrame = fanOut.published.find((p) => p.topic === topicOf(msgpackCodec, stream))!.frame;
    expect(typeof jsonFrame).toBe('string');
    expect(packFrame).toBeInstanceOf(Uint8Array);

    const want = { t: 'ev', stream, epoch, seq, data };
    for (const m of [...jsonMembers, ...packMembers]) {
      expect(m.received).toHaveLength(1);
      // The very same encoded frame, not a copy per member.
      expect(m.received[0]).toBe(m.codec === jsonCodec ? jsonFrame : packFrame);
      expect(m.events()[0]).toMatchObject(want);
    }
    expect(hub.stats).toMatchObject({ streams: 1, eventsIn: 1, framesOut: 100 });

    // A second event: again one encode per codec, frames counted per member.
    await hub.publish(stream, { type: 'photo.removed', id: 'p1' });
    await settle();
    expect(jsonEncode).toHaveBeenCalledTimes(2);
    expect(packEncode).toHaveBeenCalledTimes(2);
    expect(hub.stats).toMatchObject({ streams: 1, eventsIn: 2, framesOut: 200 });
    for (const m of [...jsonMembers, ...packMembers])
      expect(m.events().map((e) => e.seq)).toEqual([seq, seq + 1]);

    // Once every msgpack member left, only JSON is encoded.
    for (const m of packMembers) hub.leave(stream, m);
    await hub.publish(stream, { type: 'photo.added', id: 'p2' });
    await settle();
    expect(jsonEncode).toHaveBeenCalledTimes(3);
    expect(packEncode).toHaveBeenCalledTimes(2);
    expect(hub.stats).toMatchObject({ streams: 1, eventsIn: 3, framesOut: 260 });
    for (const m of jsonMembers) expect(m.received).toHaveLength(3);
    for (const m of packMembers) expect(m.received).toHaveLength(2);
  });

  it('a member catching up from history gets the replay, then live events, each once and in order', async () => {
    const stream = 'room:replay';
    const first = await join(stream, jsonCodec);
    const e1 = await hub.publish(stream, { n: 1 });
    await hub.publish(stream, { n: 2 });
    await settle();

    const late = new FakeMember(msgpackCodec, fanOut);
    const joining = hub.join(stream, late, { epoch: e1.epoch, seq: e1.seq });
    // Published while `late` is still pending: held for it, delivered after the replay.
    await hub.publish(stream, { n: 3 });
    const joined = await joining;
    await settle();
    expect(joined?.result).toMatchObject({ status: 'recovered', epoch: e1.epoch });
    joined!.deliver();
    await hub.publish(stream, { n: 4 });
    await settle();

    expect(late.events().map((e) => (e.data as { n: number }).n)).toEqual([2, 3, 4]);
    expect(first.events().map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3, 4]);
    expect(bus.subscribed).toEqual([subjectOf(stream)]);
  });
});
