import type { Transition } from './outbox.js';
import type { PresenceStore } from './presence-store.js';

export interface TrackerDeps {
  store: PresenceStore;
  /** This node in the store: its id plus a per-process suffix, so a restarted node is a new one. */
  node: string;
  graceMs: number;
  heartbeatMs: number;
  nodeTimeoutMs: number;
  now: () => number;
  /** A transition the store made here (someone went online, or was settled offline). */
  transition: (t: Transition) => void;
  onError: (err: unknown, what: string) => void;
}

/** Most users settled, or sessions of a dead node ended, per store call. */
const CHUNK = 500;
/** Deadlines this close together settle in one store call. */
const SETTLE_SLACK_MS = 15;

/**
 * This node's side of presence: tells the store of its sessions opening and
 * closing (one session's calls in order), heartbeats, settles users whose
 * grace ran out (a timer at the earliest deadline it knows of), and, every
 * heartbeat, takes the sessions of nodes that stopped heartbeating and
 * settles what is due anywhere — so the users of a node that died, or of
 * one that left in the middle of their grace, go offline within about
 * `max(grace, nodeTimeout + heartbeat)` (docs/architecture.md "Presence").
 *
 * Nothing here grows with anyone's followers: a session is one store call,
 * a transition one `Transition` handed on.
 */
export class PresenceTracker {
  /** This node's open sessions (session → user): opened again if the store forgot the node. */
  private readonly local = new Map<string, string>();
  /** Per session, its store calls in order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Deadlines this node learnt, oldest first (the grace is the same for all: they come in order). */
  private readonly deadlines: number[] = [];
  private settleTimer: NodeJS.Timeout | undefined;
  private settleAt = Number.POSITIVE_INFINITY;
  private beat: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private settling: Promise<void> | undefined;
  private settleStartedAt = 0;
  private stopped = false;
  readonly stats = { opened: 0, closed: 0, settled: 0, reapedSessions: 0, deadNodes: 0 };

  constructor(private readonly d: TrackerDeps) {}

  get sessions(): number {
    return this.local.size;
  }

  /** Registers the node (so its sessions count as alive) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.d.store.heartbeat(this.d.node, this.d.now());
    this.beat = setInterval(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.d.heartbeatMs);
    this.beat.unref();
  }

  opened(userId: string, session: string): void {
    if (this.stopped) return;
    this.local.set(session, userId);
    this.serial(session, async () => {
      const v = await this.d.store.sessionOpened(userId, session, this.d.node, this.d.now());
      this.stats.opened++;
      if (v !== undefined) this.d.transition({ userId, v, online: true });
    });
  }

  closed(userId: string, session: string): void {
    if (!this.local.delete(session)) return;
    this.serial(session, async () => {
      const deadline = await this.d.store.sessionClosed(
        userId,
        session,
        this.d.node,
        this.d.now(),
        this.d.graceMs,
      );
      this.stats.closed++;
      if (deadline !== undefined) this.due(deadline);
    });
  }

  /**
   * Leaves: the store calls under way finish, then every session still here
   * ends as a dead node's would (its users leaving now, settled by the
   * nodes that remain), and the node is forgotten.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.beat) clearInterval(this.beat);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    await Promise.allSettled([...this.chains.values(), this.ticking, this.settling]);
    try {
      for (;;) {
        const r = await this.d.store.endNode(this.d.node, this.d.now(), this.d.graceMs, CHUNK);
        if (r.alive || r.left === 0) break;
      }
    } catch (err) {
      this.d.onError(err, 'leaving the presence store');
    }
    this.local.clear();
  }

  /** One heartbeat: tell the store, end dead nodes' sessions, settle what is due. */
  async tick(): Promise<void> {
    const now = this.d.now();
    try {
      const known = await this.d.store.heartbeat(this.d.node, now);
      // Taken for dead (a long pause): the store ended our sessions; they are still open here.
      if (!known) for (const [session, userId] of this.local) this.opened(userId, session);
      for (const dead of await this.d.store.deadNodes(now - this.d.nodeTimeoutMs)) {
        if (dead.node === this.d.node) continue;
        this.stats.deadNodes++;
        for (;;) {
          const r = await this.d.store.endNode(dead.node, dead.at, this.d.graceMs, CHUNK);
          this.stats.reapedSessions += r.ended;
          if (r.deadline !== undefined) this.due(r.deadline);
          if (r.alive || r.left === 0) break;
        }
      }
    } catch (err) {
      this.d.onError(err, 'presence heartbeat');
    }
    // Also what nobody else settles: users of a node that left or died during their grace.
    await this.settleDue();
  }

  /** Settles every user due by now, anywhere (one store call per CHUNK); joins a settle under way. */
  settleDue(): Promise<void> {
    this.settling ??= this.runSettle().finally(() => {
      this.settling = undefined;
    });
    return this.settling;
  }

  private async runSettle(): Promise<void> {
    this.settleStartedAt = this.d.now();
    try {
      for (;;) {
        const done = await this.d.store.settle(this.d.now(), CHUNK);
        this.stats.settled += done.length;
        for (const s of done)
          this.d.transition({ userId: s.userId, v: s.v, online: false, lastSeen: s.lastSeen });
        if (done.length < CHUNK) break;
      }
    } catch (err) {
      this.d.onError(err, 'settling presence');
    }
  }

  private serial(session: string, op: () => Promise<void>): void {
    const next = (this.chains.get(session) ?? Promise.resolve()).then(op).catch((err: unknown) => {
      this.d.onError(err, 'presence session');
    });
    this.chains.set(session, next);
    void next.finally(() => {
      if (this.chains.get(session) === next) this.chains.delete(session);
    });
  }

  /** A user is due to settle at `deadline`: wake then (deadlines arrive about in order). */
  private due(deadline: number): void {
    if (this.stopped) return;
    if (this.deadlines.length === 0 || deadline >= this.deadlines[this.deadlines.length - 1]!)
      this.deadlines.push(deadline);
    else {
      const i = this.deadlines.findIndex((d) => d > deadline);
      this.deadlines.splice(i, 0, deadline);
    }
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.deadlines[0];
    if (next === undefined || next >= this.settleAt) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleAt = next;
    // A little after: the deadlines of a burst of closes settle in one store call.
    const delay = Math.max(0, next - this.d.now()) + SETTLE_SLACK_MS;
    this.settleTimer = setTimeout(() => void this.fire(), delay);
  }

  private async fire(): Promise<void> {
    this.settleTimer = undefined;
    this.settleAt = Number.POSITIVE_INFINITY;
    const now = this.d.now();
    let n = 0;
    while (n < this.deadlines.length && this.deadlines[n]! <= now) n++;
    this.deadlines.splice(0, n);
    // A settle that started before now may have missed these: wait for it, then one of our own.
    while (this.settling && this.settleStartedAt < now) await this.settling;
    await this.settleDue();
    this.arm();
  }
}
