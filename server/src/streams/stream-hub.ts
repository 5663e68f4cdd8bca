import type { Bus, BusSubscription } from '@shutter/actors';
import type { Codec, EvMessage, Frame, SubscribeResult } from '@shutter/protocol';
import { Packr, Unpackr } from 'msgpackr';
import type { StreamPublisher } from './publisher.js';
import type { StoredEvent, StreamHead, StreamLog } from './stream-log.js';

// Bus payloads are our own (node to node), never a client's bytes.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true });

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

/** Per stream on this node: one bus subscription, however many local sockets. */
interface Interest {
  sub: BusSubscription;
  ready: Promise<void>;
  /** Members per codec, to encode each event once per codec in use. */
  live: Map<Codec, Set<HubMember>>;
  /** Members still replaying history: live events wait here until they are caught up. */
  pending: Map<HubMember, StoredEvent[]>;
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

export interface HubStats {
  streams: number;
  eventsIn: number;
  framesOut: number;
}

/**
 * Streams on this node: subscribes to each stream's bus subject once, encodes
 * each event once per codec and hands the bytes to the engine's fan-out.
 * A joining member is caught up from the stream's history first; live
 * events that arrive meanwhile are held for it and released in order, so it
 * sees every event after its position exactly once.
 */
export class StreamHub implements StreamPublisher {
  private readonly interests = new Map<string, Interest>();
  readonly stats: HubStats = { streams: 0, eventsIn: 0, framesOut: 0 };

  constructor(
    private readonly bus: Bus,
    private readonly log: StreamLog,
    private readonly fanOut: FanOut,
    private readonly historyLimit: number,
  ) {}

  async publish(stream: string, data: unknown): Promise<{ epoch: string; seq: number }> {
    const event = await this.log.append(stream, data, Date.now());
    this.bus.publish(subjectOf(stream), packr.pack(event));
    return { epoch: event.epoch, seq: event.seq };
  }

  /**
   * Joins `member` to `stream`, from `from` if given. Resolves with the answer
   * to send; `deliver` is called synchronously after the caller sent it, to
   * replay and go live without a gap. Undefined if the member closed meanwhile.
   */
  async join(
    stream: string,
    member: HubMember,
    from: StreamHead | undefined,
  ): Promise<{ result: SubscribeResult; deliver: () => void } | undefined> {
    const interest = this.interest(stream);
    interest.pending.set(member, []);
    try {
      await interest.ready;
      let result: SubscribeResult;
      let replay: StoredEvent[] = [];
      if (from) {
        const r = await this.log.readAfter(stream, from, this.historyLimit);
        if (r.status === 'ok') {
          replay = r.events;
          result = { epoch: r.head.epoch, seq: r.head.seq, status: 'recovered', missed: replay.length };
        } else result = { epoch: r.head.epoch, seq: r.head.seq, status: 'refetch', missed: 0 };
      } else {
        const h = await this.log.head(stream);
        result = { epoch: h.epoch, seq: h.seq, status: 'fresh', missed: 0 };
      }
      if (!member.isOpen) {
        this.leavePending(stream, member);
        return undefined;
      }
      const deliver = () => {
        const held = interest.pending.get(member) ?? [];
        interest.pending.delete(member);
        if (!member.isOpen) return this.maybeDrop(stream, interest);
        for (const e of replay) member.sendFrame(member.codec.encode(evMessage(e)));
        for (const e of held) {
          if (e.epoch === result.epoch && e.seq > result.seq)
            member.sendFrame(member.codec.encode(evMessage(e)));
        }
        let set = interest.live.get(member.codec);
        if (!set) interest.live.set(member.codec, (set = new Set()));
        set.add(member);
        member.joinTopic(topicOf(member.codec, stream));
      };
      return { result, deliver };
    } catch (e) {
      this.leavePending(stream, member);
      throw e;
    }
  }

  leave(stream: string, member: HubMember): void {
    const interest = this.interests.get(stream);
    if (!interest) return;
    interest.pending.delete(member);
    const set = interest.live.get(member.codec);
    if (set?.delete(member)) {
      member.leaveTopic(topicOf(member.codec, stream));
      if (set.size === 0) interest.live.delete(member.codec);
    }
    this.maybeDrop(stream, interest);
  }

  private leavePending(stream: string, member: HubMember): void {
    const interest = this.interests.get(stream);
    if (!interest) return;
    interest.pending.delete(member);
    this.maybeDrop(stream, interest);
  }

  private maybeDrop(stream: string, interest: Interest): void {
    if (interest.live.size === 0 && interest.pending.size === 0) {
      interest.sub.unsubscribe();
      this.interests.delete(stream);
      this.stats.streams = this.interests.size;
    }
  }

  private interest(stream: string): Interest {
    let i = this.interests.get(stream);
    if (i) return i;
    const sub = this.bus.subscribe(subjectOf(stream), (payload) => this.onEvent(stream, payload));
    i = { sub, ready: this.bus.flush(), live: new Map(), pending: new Map() };
    this.interests.set(stream, i);
    this.stats.streams = this.interests.size;
    return i;
  }

  private onEvent(stream: string, payload: Uint8Array): void {
    const interest = this.interests.get(stream);
    if (!interest) return;
    const event = unpackr.unpack(payload) as StoredEvent;
    this.stats.eventsIn++;
    for (const held of interest.pending.values()) held.push(event);
    if (interest.live.size === 0) return;
    const msg = evMessage(event);
    for (const [codec, members] of interest.live) {
      if (members.size === 0) continue;
      this.fanOut.publish(topicOf(codec, stream), codec.encode(msg));
      this.stats.framesOut += members.size;
    }
  }
}
