import type { Bus, BusStatus, BusSubscription } from '@shutter/actors';
import type { Codec, SubscribeResult } from '@shutter/protocol';
import { byStream, packEvents, unpackEvents } from './bus-payload.js';
import {
  evMessage,
  type FanOut,
  type HubMember,
  type HubStats,
  type StreamHubOptions,
  subjectOf,
  topicOf,
} from './hub-contract.js';
import type { BatchEvent, StreamBatchPublisher } from './publisher.js';
import { Slots } from './slots.js';
import type { StoredEvent, StreamHead, StreamLog } from './stream-log.js';

export {
  evMessage,
  type FanOut,
  type HubMember,
  type HubStats,
  type StreamHubOptions,
  subjectOf,
  topicOf,
} from './hub-contract.js';

/** A member whose replay went beyond what this node has fanned out: it goes live when the stream gets there. */
interface Waiter {
  target: StreamHead;
  /** Events of this epoch are older than `target` (the node had not seen the stream's new epoch yet). */
  olderEpoch: string | undefined;
}

/** Per stream on this node: one bus subscription, however many local sockets. */
interface Interest {
  readonly stream: string;
  sub: BusSubscription;
  /** Subscribed on the bus and `pos` set from the history's head. */
  ready: Promise<void>;
  /**
   * The last event handed to this node's subscribers. Every event is handed
   * on in seq order exactly once; an event that arrives ahead of its turn
   * waits in `ahead` while the hole is filled from the history.
   */
  pos: StreamHead | undefined;
  /** Bus events that came before `pos` was known. */
  early: StoredEvent[];
  /** Bus events beyond a hole (or of another epoch), until a catch-up sorts them out. */
  ahead: StoredEvent[];
  catchUp: 'idle' | 'running' | 'again';
  /** Members per codec, to encode each event once per codec in use. */
  live: Map<Codec, Set<HubMember>>;
  /** Members still replaying history: events handed on meanwhile wait here until they are caught up. */
  pending: Map<HubMember, StoredEvent[]>;
  waiting: Map<HubMember, Waiter>;
  dropped: boolean;
}

/**
 * Streams on this node: subscribes to each stream's bus subject once, encodes
 * each event once per codec and hands the bytes to the engine's fan-out.
 *
 * Guarantees, per stream and node: events are handed to subscribers in seq
 * order, each once. The bus is at most once and unordered across writers, so
 * the hub keeps the stream's position (`pos`): a bus event at or below it is
 * a duplicate and dropped; one beyond `pos + 1` means a hole, which is filled
 * from the history (every published event is there before it is on the bus).
 * After the bus reconnects every stream is caught up from the history, and
 * the events this node published while the bus may have lost them are
 * published again. When the history no longer reaches, subscribers get the
 * newest event: a gap, on which clients resubscribe and are told to refetch.
 *
 * A joining member is caught up from the history first; events handed on
 * meanwhile are held for it and released in order, and if its replay went
 * beyond `pos` it joins the fan-out when the stream gets there, so it sees
 * every event after its position exactly once.
 */
export class StreamHub implements StreamBatchPublisher {
  private readonly interests = new Map<string, Interest>();
  /** Bounds the catch-ups' history reads at once. */
  readonly catchUpSlots: Slots;
  readonly stats: HubStats = {
    streams: 0,
    eventsIn: 0,
    framesOut: 0,
    duplicates: 0,
    catchUps: 0,
    caughtUp: 0,
    gapsRevealed: 0,
    republished: 0,
  };
  /** The newest event this node published per stream, until a bus flush confirms it reached the bus. */
  private unconfirmed = new Map<string, StoredEvent>();
  private busDown = false;
  private checkpointing = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly offStatus: () => void;
  private readonly retryMs: number;

  constructor(
    private readonly bus: Bus,
    private readonly log: StreamLog,
    private readonly fanOut: FanOut,
    private readonly historyLimit: number,
    private readonly options: StreamHubOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 1000;
    this.catchUpSlots = new Slots(options.catchUpConcurrency ?? 32);
    this.offStatus = bus.onStatus((s) => this.onBusStatus(s));
    const every = (ms: number, f: () => void) => {
      if (ms > 0) this.timers.push(setInterval(f, ms).unref());
    };
    every(options.keepAliveMs ?? 0, () => void this.keepAlive());
    every(options.checkpointMs ?? 1000, () => void this.checkpoint());
  }

  async publish(stream: string, data: unknown): Promise<{ epoch: string; seq: number }> {
    const [e] = await this.publishBatch([{ stream, data }]);
    return { epoch: e!.epoch, seq: e!.seq };
  }

  /** Appends in the batch's order (both logs run appends as issued: consecutive seqs); one bus message per stream. */
  async publishBatch(
    events: readonly BatchEvent[],
  ): Promise<{ stream: string; epoch: string; seq: number }[]> {
    const ts = Date.now();
    const stored =
      events.length === 1
        ? [await this.log.append(events[0]!.stream, events[0]!.data, ts)]
        : await this.log.appendMany(events, ts);
    // In the history now: that is what acknowledging means. The bus may still lose them; a reconnect republishes.
    for (const e of stored) {
      const prev = this.unconfirmed.get(e.stream);
      if (!prev || prev.epoch !== e.epoch || prev.seq < e.seq) this.unconfirmed.set(e.stream, e);
    }
    for (const [stream, list] of byStream(stored)) {
      try {
        this.bus.publish(subjectOf(stream), packEvents(list));
      } catch {
        // Closed or disconnected: subscribers catch up from the history.
      }
    }
    return stored.map((e) => ({ stream: e.stream, epoch: e.epoch, seq: e.seq }));
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
        this.leavePending(interest, member);
        return undefined;
      }
      const deliver = () => this.deliver(interest, member, result, replay);
      return { result, deliver };
    } catch (e) {
      this.leavePending(interest, member);
      throw e;
    }
  }

  leave(stream: string, member: HubMember): void {
    const interest = this.interests.get(stream);
    if (!interest) return;
    interest.pending.delete(member);
    interest.waiting.delete(member);
    const set = interest.live.get(member.codec);
    if (set?.delete(member)) {
      member.leaveTopic(topicOf(member.codec, stream));
      if (set.size === 0) interest.live.delete(member.codec);
    }
    this.maybeDrop(interest);
  }

  /** Stops the hub's timers and status listener (the bus and log are closed by their owner). */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.offStatus();
  }

  // ---- joining ---------------------------------------------------------------

  private deliver(i: Interest, member: HubMember, result: SubscribeResult, replay: StoredEvent[]): void {
    const held = i.pending.get(member) ?? [];
    i.pending.delete(member);
    if (!member.isOpen || i.dropped) return this.maybeDrop(i);
    for (const e of replay) member.sendFrame(member.codec.encode(evMessage(e)));
    const at: StreamHead = { epoch: result.epoch, seq: result.seq };
    const pos = i.pos!; // set before `ready` resolved
    if (at.epoch === pos.epoch) {
      if (at.seq < pos.seq) {
        // Everything after `at` up to `pos` was handed on while this member read the history.
        for (const e of held) if (e.epoch === at.epoch && e.seq > at.seq) this.sendTo(member, e);
      } else if (at.seq > pos.seq) {
        // The history is ahead of what this node has handed on (events still on the bus, or lost):
        // the member joins when the stream gets to `at`, never seeing an event twice.
        i.waiting.set(member, { target: at, olderEpoch: undefined });
        return this.startCatchUp(i);
      }
    } else if (held.some((e) => e.epoch === pos.epoch)) {
      // The stream moved to a new epoch while the member read the old one: show it the new one.
      for (const e of held) if (e.epoch === pos.epoch) this.sendTo(member, e);
    } else {
      // The member read an epoch this node has not seen yet.
      i.waiting.set(member, { target: at, olderEpoch: pos.epoch });
      return this.startCatchUp(i);
    }
    this.goLive(i, member);
  }

  private goLive(i: Interest, member: HubMember): void {
    let set = i.live.get(member.codec);
    if (!set) i.live.set(member.codec, (set = new Set()));
    set.add(member);
    member.joinTopic(topicOf(member.codec, i.stream));
  }

  private sendTo(member: HubMember, e: StoredEvent): void {
    member.sendFrame(member.codec.encode(evMessage(e)));
  }

  private leavePending(i: Interest, member: HubMember): void {
    i.pending.delete(member);
    this.maybeDrop(i);
  }

  private maybeDrop(i: Interest): void {
    if (i.dropped) return;
    if (i.live.size === 0 && i.pending.size === 0 && i.waiting.size === 0) this.drop(i);
  }

  private drop(i: Interest): void {
    i.dropped = true;
    i.sub.unsubscribe();
    if (this.interests.get(i.stream) === i) this.interests.delete(i.stream);
    this.stats.streams = this.interests.size;
  }

  private interest(stream: string): Interest {
    const existing = this.interests.get(stream);
    if (existing) return existing;
    const i: Interest = {
      stream,
      sub: this.bus.subscribe(subjectOf(stream), (payload) => this.onBusEvent(i, payload)),
      ready: Promise.resolve(),
      pos: undefined,
      early: [],
      ahead: [],
      catchUp: 'idle',
      live: new Map(),
      pending: new Map(),
      waiting: new Map(),
      dropped: false,
    };
    // Subscribed first, then the head read: every event after the head comes on the bus
    // (or is found by a catch-up), and no member reads the history before `pos` is set.
    i.ready = this.bus
      .flush()
      .then(() => this.log.head(stream))
      .then((head) => {
        i.pos = head;
        const early = i.early;
        i.early = [];
        for (const e of early) this.accept(i, e);
      });
    i.ready.catch(() => {
      // Every member waiting on it fails its join; the next join starts afresh.
      if (!i.dropped) this.drop(i);
    });
    this.interests.set(stream, i);
    this.stats.streams = this.interests.size;
    return i;
  }

  // ---- in order, once ----------------------------------------------------------

  private onBusEvent(i: Interest, payload: Uint8Array): void {
    if (i.dropped) return;
    for (const e of unpackEvents(payload)) {
      this.stats.eventsIn++;
      this.accept(i, e);
    }
  }

  private accept(i: Interest, e: StoredEvent): void {
    const pos = i.pos;
    if (!pos) {
      i.early.push(e);
      return;
    }
    if (e.epoch === pos.epoch) {
      if (e.seq <= pos.seq) {
        this.stats.duplicates++;
        return;
      }
      if (e.seq === pos.seq + 1) {
        this.handOn(i, e);
        return this.drainAhead(i, false);
      }
    }
    i.ahead.push(e);
    this.startCatchUp(i);
  }

  /** Hands on the events in `ahead` that are now next; after a catch-up also forgets those it made stale. */
  private drainAhead(i: Interest, afterCatchUp: boolean): void {
    if (i.ahead.length === 0) return;
    for (;;) {
      const pos = i.pos!;
      const next = i.ahead.findIndex((e) => e.epoch === pos.epoch && e.seq === pos.seq + 1);
      if (next < 0) break;
      const [e] = i.ahead.splice(next, 1);
      this.handOn(i, e!);
    }
    const pos = i.pos!;
    const before = i.ahead.length;
    // Drops what a catch-up handed on already; another epoch's stragglers go once the history has spoken.
    i.ahead = i.ahead.filter((e) => (e.epoch === pos.epoch ? e.seq > pos.seq : !afterCatchUp));
    this.stats.duplicates += before - i.ahead.length;
  }

  /** The one place an event goes out: to the held lists, the fan-out and the waiting members. */
  private handOn(i: Interest, e: StoredEvent): void {
    i.pos = { epoch: e.epoch, seq: e.seq };
    for (const held of i.pending.values()) held.push(e);
    if (i.live.size > 0) {
      const msg = evMessage(e);
      for (const [codec, members] of i.live) {
        if (members.size === 0) continue;
        this.fanOut.publish(topicOf(codec, i.stream), codec.encode(msg));
        this.stats.framesOut += members.size;
      }
    }
    for (const [m, w] of i.waiting) {
      if (!m.isOpen) {
        i.waiting.delete(m);
        continue;
      }
      if (e.epoch === w.target.epoch) {
        if (e.seq < w.target.seq) continue; // replayed to it already
        if (e.seq > w.target.seq) this.sendTo(m, e);
      } else if (e.epoch === w.olderEpoch) continue;
      else this.sendTo(m, e);
      i.waiting.delete(m);
      this.goLive(i, m);
    }
  }

  // ---- catching up from the history --------------------------------------------

  private startCatchUp(i: Interest): void {
    if (i.dropped || !i.pos) return;
    if (i.catchUp !== 'idle') {
      i.catchUp = 'again';
      return;
    }
    i.catchUp = 'running';
    void this.runCatchUp(i);
  }

  private async runCatchUp(i: Interest): Promise<void> {
    try {
      do {
        i.catchUp = 'running';
        await this.catchUpSlots.run(() => this.catchUpOnce(i));
        // A bus event, join or reconnect may have asked for another round meanwhile.
      } while ((i.catchUp as Interest['catchUp']) === 'again' && !i.dropped);
      i.catchUp = 'idle';
    } catch (err) {
      i.catchUp = 'idle';
      this.options.onError?.(err, i.stream);
      if (!i.dropped) setTimeout(() => this.startCatchUp(i), this.retryMs).unref();
    }
  }

  private async catchUpOnce(i: Interest): Promise<void> {
    const from = i.pos!;
    this.stats.catchUps++;
    const r = await this.log.readAfter(i.stream, from, this.historyLimit);
    if (i.dropped) return;
    if (r.status === 'ok') {
      for (const e of r.events) {
        const pos = i.pos!;
        if (e.epoch === pos.epoch && e.seq === pos.seq + 1) {
          this.stats.caughtUp++;
          this.handOn(i, e);
        }
      }
    } else {
      if (i.pos !== from) {
        i.catchUp = 'again'; // moved meanwhile: ask again from where it is now
        return;
      }
      // The hole cannot be filled. Hand on the newest event: subscribers see a gap
      // (or a new epoch) and resubscribe from their position, which answers refetch.
      // A new epoch is handed on from its start when the history still has it.
      const head = r.head;
      let shown: StoredEvent[] = [];
      if (head.seq > 0 && head.epoch !== from.epoch) {
        const n = await this.log.readAfter(i.stream, { epoch: head.epoch, seq: 0 }, this.historyLimit);
        if (n.status === 'ok') shown = n.events;
      }
      if (head.seq > 0 && shown.length === 0) {
        const n = await this.log.readAfter(i.stream, { epoch: head.epoch, seq: head.seq - 1 }, 1);
        if (n.status === 'ok') shown = n.events;
      }
      if (i.dropped) return;
      if (i.pos !== from) {
        i.catchUp = 'again';
        return;
      }
      // Without a history (STREAM_HISTORY_SIZE=0) the earliest event at hand shows the gap.
      if (shown.length === 0) {
        const first = i.ahead.filter((e) => e.epoch === head.epoch).sort((a, b) => a.seq - b.seq)[0];
        if (first) {
          i.ahead = i.ahead.filter((e) => e !== first);
          shown = [first];
        }
      }
      if (shown.length > 0) {
        this.stats.gapsRevealed++;
        for (const e of shown) this.handOn(i, e);
      } else i.pos = head;
    }
    this.drainAhead(i, true);
    if (i.ahead.length > 0) i.catchUp = 'again';
  }

  // ---- the bus coming back, keep-alive --------------------------------------------

  private onBusStatus(s: BusStatus): void {
    if (s === 'disconnected') {
      this.busDown = true;
      return;
    }
    this.busDown = false;
    // What this node published while the bus was away (or just before) may be lost: send it again.
    for (const [stream, e] of this.unconfirmed) {
      try {
        this.bus.publish(subjectOf(stream), packEvents([e]));
        this.stats.republished++;
      } catch {
        break; // gone again; the next reconnect retries
      }
    }
    // What others published meanwhile never reached this node's subscriptions: read it from the history.
    for (const i of this.interests.values()) this.startCatchUp(i);
  }

  /** Forgets the unconfirmed publishes once a bus flush proves they reached it. */
  private async checkpoint(): Promise<void> {
    if (this.checkpointing || this.busDown || this.unconfirmed.size === 0) return;
    this.checkpointing = true;
    const batch = this.unconfirmed;
    this.unconfirmed = new Map();
    try {
      await this.bus.flush();
      if (this.busDown) throw new Error('the bus went away during the flush');
    } catch {
      for (const [stream, e] of batch) {
        const later = this.unconfirmed.get(stream);
        if (!later || later.epoch !== e.epoch || later.seq < e.seq) this.unconfirmed.set(stream, e);
      }
    } finally {
      this.checkpointing = false;
    }
  }

  /** A stream someone here is subscribed to keeps its history (and epoch) however quiet it is. */
  private async keepAlive(): Promise<void> {
    if (this.interests.size === 0) return;
    try {
      await this.log.touch([...this.interests.keys()]);
    } catch (err) {
      this.options.onError?.(err, '*');
    }
  }
}
