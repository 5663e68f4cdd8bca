import { MemoryBus } from '@shutter/actors';
import { type Codec, type Frame, msgpackCodec } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byStream, packEvents, unpackEvents } from './bus-payload.js';
import { MemoryStreamLog } from './memory-stream-log.js';
import { type HubMember, StreamHub, subjectOf, topicOf } from './stream-hub.js';
import type { StoredEvent } from './stream-log.js';

/** The in-memory bus, keeping every payload published per subject. */
class RecordingBus extends MemoryBus {
  readonly payloads = new Map<string, Uint8Array[]>();

  override publish(subject: string, payload: Uint8Array): void {
    const list = this.payloads.get(subject) ?? [];
    list.push(payload);
    this.payloads.set(subject, list);
    super.publish(subject, payload);
  }
}

/** A member that records every frame it is sent, through its topic or alone, with the turn it came in. */
class Member implements HubMember {
  readonly codec: Codec = msgpackCodec;
  readonly frames: { frame: Frame; turn: number }[] = [];
  isOpen = true;
  constructor(private readonly topics: Map<string, Member[]>) {}
  sendFrame(frame: Frame): void {
    this.frames.push({ frame, turn });
  }
  joinTopic(topic: string): void {
    this.topics.set(topic, [...(this.topics.get(topic) ?? []), this]);
  }
  leaveTopic(topic: string): void {
    this.topics.set(
      topic,
      (this.topics.get(topic) ?? []).filter((m) => m !== this),
    );
  }
  seqs(): number[] {
    return this.frames.map((f) => (this.codec.decode(f.frame) as { seq: number }).seq);
  }
}

/** Counts turns of the event loop, so a test can tell which frames were handed on together. */
let turn = 0;
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('StreamHub batches', () => {
  let bus: RecordingBus;
  let hub: StreamHub;
  const topics = new Map<string, Member[]>();

  beforeEach(() => {
    bus = new RecordingBus();
    const log = new MemoryStreamLog({ maxEvents: 100, ttlSeconds: 60 });
    hub = new StreamHub(
      bus,
      log,
      {
        publish: (topic, frame) => {
          for (const m of topics.get(topic) ?? []) m.sendFrame(frame);
        },
      },
      100,
      { checkpointMs: 0 },
    );
    topics.clear();
    turn = 0;
  });
  afterEach(() => hub.close());

  async function member(stream: string): Promise<Member> {
    const m = new Member(topics);
    const joined = await hub.join(stream, m, undefined);
    joined!.deliver();
    return m;
  }

  it('gives a stream’s events of one batch consecutive seqs in order, in one bus message, handed on in one turn', async () => {
    const a = await member('topic:a');
    const b = await member('topic:b');
    await hub.publish('topic:a', { n: 0 });
    await settle();
    turn++;
    const acks = await hub.publishBatch([
      { stream: 'topic:a', data: { n: 1 } },
      { stream: 'topic:b', data: { n: 1 } },
      { stream: 'topic:a', data: { n: 2 } },
      { stream: 'topic:a', data: { n: 3 } },
    ]);
    expect(acks.map((x) => [x.stream, x.seq])).toEqual([
      ['topic:a', 2],
      ['topic:b', 1],
      ['topic:a', 3],
      ['topic:a', 4],
    ]);
    await settle();
    // One message per stream: the single publish alone, then the batch's three together.
    const onA = bus.payloads.get(subjectOf('topic:a'))!.map(unpackEvents);
    expect(onA.map((es) => es.map((e) => e.seq))).toEqual([[1], [2, 3, 4]]);
    expect(
      bus.payloads
        .get(subjectOf('topic:b'))!
        .map(unpackEvents)
        .map((es) => es.length),
    ).toEqual([1]);
    expect(a.seqs()).toEqual([1, 2, 3, 4]);
    expect(a.frames.filter((f) => f.turn === 1)).toHaveLength(3);
    expect(a.frames.map((f) => (msgpackCodec.decode(f.frame) as { data: { n: number } }).data.n)).toEqual([
      0, 1, 2, 3,
    ]);
    expect(b.seqs()).toEqual([1]);
    expect(topics.get(topicOf(msgpackCodec, 'topic:a'))).toEqual([a]);
  });

  it('a member that resumes after a batch gets it from the history, in order', async () => {
    await member('topic:a'); // keeps the stream's interest alive
    const [first] = await hub.publishBatch([{ stream: 'topic:a', data: 1 }]);
    await hub.publishBatch([
      { stream: 'topic:a', data: 2 },
      { stream: 'topic:a', data: 3 },
    ]);
    await settle();
    const late = new Member(topics);
    const joined = await hub.join('topic:a', late, { epoch: first!.epoch, seq: 1 });
    expect(joined!.result).toMatchObject({ status: 'recovered', missed: 2, seq: 3 });
    joined!.deliver();
    await hub.publish('topic:a', 4);
    await settle();
    expect(late.seqs()).toEqual([2, 3, 4]);
  });
});

describe('bus payloads', () => {
  const ev = (seq: number, stream = 's'): StoredEvent => ({ stream, epoch: 'e', seq, ts: 1, data: { seq } });

  it('packs one event as itself (the format older nodes read) and several as an array', async () => {
    const { Unpackr } = await import('msgpackr');
    const raw = new Unpackr({ mapsAsObjects: true });
    expect(raw.unpack(packEvents([ev(1)]))).toEqual(ev(1));
    expect(raw.unpack(packEvents([ev(1), ev(2)]))).toEqual([ev(1), ev(2)]);
    expect(unpackEvents(packEvents([ev(1)]))).toEqual([ev(1)]);
    expect(unpackEvents(packEvents([ev(1), ev(2)]))).toEqual([ev(1), ev(2)]);
  });

  it('groups a batch per stream, each in seq order', () => {
    const groups = byStream([ev(3, 'a'), ev(1, 'b'), ev(2, 'a')]);
    expect([...groups.entries()].map(([s, es]) => [s, es.map((e) => e.seq)])).toEqual([
      ['a', [2, 3]],
      ['b', [1]],
    ]);
  });
});
