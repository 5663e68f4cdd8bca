import { errorText } from '../jobs/job-queue.js';
import { DedupLog, type Logger } from '../log.js';
import type { Sql } from '../sql/sql.js';
import type { Databases } from '../storage/databases.js';
import { type BackoffOptions, retryDelay } from './backoff.js';
import { DatabaseLoop } from './database-loop.js';
import { type ClaimedPush, claimDue, type Settlement, settle, sweep } from './outbox-rows.js';
import type { PushMessage, PushProvider } from './provider.js';

export interface PushWorkerOptions extends BackoffOptions {
  maxAttempts: number;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
  /** Sent and dropped rows are deleted after this; dead ones after `keepDeadMs`. */
  keepMs: number;
  keepDeadMs: number;
  /** How long `stop` lets sends in flight finish before aborting them (default 2 s). */
  stopGraceMs?: number;
  /** How often old rows are swept and dead ones counted (default a minute). */
  sweepMs?: number;
}

/** What one node's worker did: counters since start, and two gauges (`inFlight`, `deadStored`). */
export interface PushStats {
  /** Accepted by the provider. */
  sent: number;
  /** Attempts that failed for now and were scheduled again. */
  retried: number;
  /** Pushes that went dead (attempts spent, or refused for good). */
  dead: number;
  /** Tokens the provider said are gone: their devices were forgotten. */
  gone: number;
  /** Pushes not sent because their device was no longer registered. */
  dropped: number;
  /** Attempts whose row had been claimed again (lease ran out) or cancelled meanwhile. */
  fenced: number;
  inFlight: number;
  /** Dead rows kept in every database, as of the last sweep. */
  deadStored: number;
}

/** Forgets a device whose token the provider said is gone (only while it still has that token). */
export type ForgetDevice = (userId: string, deviceId: string, token: string) => Promise<unknown>;

/**
 * Sends the outbox's pushes: one loop per database claims due rows
 * (`claimDue`: `FOR UPDATE SKIP LOCKED` with a lease, so nodes sharing the
 * databases never hold the same row at once), hands each to the provider,
 * and settles it by the answer: sent; retried after a jittered exponential
 * backoff (or the provider's Retry-After) until `maxAttempts`, then dead;
 * dead at once when refused for good; dropped, its device forgotten, when
 * the token is gone. At most `concurrency` sends at once across databases.
 *
 * Delivery is at least once per (notification, device) while the device
 * keeps a valid token and attempts remain: a node that dies (or stops)
 * after the provider accepted a push but before the row is settled leaves
 * the row to be sent again once its lease ends (or at once, for a stop).
 */
export class PushWorker {
  readonly stats: PushStats = {
    sent: 0,
    retried: 0,
    dead: 0,
    gone: 0,
    dropped: 0,
    fenced: 0,
    inFlight: 0,
    deadStored: 0,
  };
  private readonly loops: DatabaseLoop[];
  private readonly abort = new AbortController();
  private readonly sends = new Set<Promise<void>>();
  private readonly problems: DedupLog;
  /** The fewest free slots worth a claim while sends are in flight. */
  private readonly claimBatch: number;
  /** Slots taken: claims under way and sends in flight. */
  private taken = 0;
  private stopping = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: Databases,
    private readonly provider: PushProvider,
    private readonly o: PushWorkerOptions,
    private readonly log: Logger,
    private readonly forget: ForgetDevice,
  ) {
    this.loops = db.all.map((sql) => new DatabaseLoop(sql));
    this.claimBatch = Math.max(1, Math.ceil(o.concurrency / 4));
    this.problems = new DedupLog(log);
  }

  start(): void {
    for (const loop of this.loops) loop.done = this.run(loop);
    void this.sweepAll();
    this.sweeper = setInterval(() => void this.sweepAll(), this.o.sweepMs ?? 60_000);
    this.sweeper.unref?.();
  }

  /** Looks for due pushes in `sql` in `delayMs` (something was just enqueued there, due then). */
  wake(sql: Sql, delayMs = 0): void {
    for (const loop of this.loops) {
      if (loop.sql !== sql) continue;
      if (delayMs <= 0) loop.wake();
      else loop.wakeAt(Date.now() + delayMs + 20);
    }
  }

  /** Claims nothing more; lets sends in flight finish for the grace time, then aborts and releases them. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const loop of this.loops) loop.wake();
    await Promise.all(this.loops.map((l) => l.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => {
      timer = setTimeout(r, this.o.stopGraceMs ?? 2000);
    });
    await Promise.race([Promise.all(this.sends), grace]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.all(this.sends);
    await this.provider.close?.();
    this.problems.flush(true);
  }

  private async run(loop: DatabaseLoop): Promise<void> {
    while (!this.stopping) {
      const free = this.o.concurrency - this.taken;
      // Claims in batches (a quarter of the slots at least, unless nothing is in flight): one
      // query per freed slot would cost more than the sends themselves.
      loop.starved = free < this.claimBatch && this.taken > 0;
      if (free > 0 && !loop.starved) {
        this.taken += free;
        let rows: ClaimedPush[] = [];
        try {
          rows = await claimDue(loop.sql, free, this.o.leaseMs);
        } catch (err) {
          this.problems.error('claim', { err }, 'push outbox: claiming due pushes failed; trying again');
        }
        this.giveBack(free - rows.length);
        for (const row of rows) this.track(this.deliver(loop, row));
        // A full batch: more may be due at once.
        if (rows.length === free) continue;
      }
      await loop.idle(this.o.pollMs);
    }
  }

  private track(p: Promise<void>): void {
    this.stats.inFlight++;
    this.sends.add(p);
    void p.finally(() => {
      this.sends.delete(p);
      this.stats.inFlight--;
      this.giveBack(1);
    });
  }

  /** Frees `n` slots; loops that found none free look again. */
  private giveBack(n: number): void {
    if (n <= 0) return;
    this.taken -= n;
    for (const loop of this.loops) if (loop.starved) loop.wake();
  }

  private async deliver(loop: DatabaseLoop, p: ClaimedPush): Promise<void> {
    const s = await this.attempt(p);
    let held: boolean;
    try {
      held = s.state === 'sent' ? await loop.sent.add(p) : await settle(loop.sql, p, s);
    } catch (err) {
      // The row keeps its lease and is sent again when it ends: at least once.
      this.problems.error('settle', { err }, 'push outbox: recording an attempt failed');
      return;
    }
    if (!held) {
      this.stats.fenced++;
      return;
    }
    switch (s.state) {
      case 'sent':
        this.stats.sent++;
        return;
      case 'retry':
        this.stats.retried++;
        // A little after the row's due time, which the database set from its own clock.
        loop.wakeAt(Date.now() + s.delayMs + 20);
        return;
      case 'dead':
        this.stats.dead++;
        this.log.warn(
          { notificationId: p.notificationId, userId: p.userId, deviceId: p.deviceId, error: s.error },
          'push dead: kept for operators (GET /v1/admin/push/dead)',
        );
        return;
      case 'dropped':
        if (!p.device) {
          this.stats.dropped++;
          return;
        }
        this.stats.gone++;
        await this.forget(p.userId, p.deviceId, p.device.token).catch((err: unknown) =>
          this.problems.error('forget', { err }, 'push outbox: forgetting a gone token failed'),
        );
        return;
      case 'released':
        return;
    }
  }

  /** Sends one claimed push and says how its attempt ends (`dropped` with a device: its token is gone). */
  private async attempt(p: ClaimedPush): Promise<Settlement> {
    if (p.attempts > this.o.maxAttempts)
      return { state: 'dead', error: 'the lease ran out on every attempt (nodes stopped while sending)' };
    if (!p.device) return { state: 'dropped', error: 'the device is no longer registered' };
    let r: Awaited<ReturnType<PushProvider['send']>>;
    try {
      r = await this.provider.send(messageOf(p, p.device), this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return { state: 'released' };
      r = { outcome: 'retry', reason: errorText(err) };
    }
    switch (r.outcome) {
      case 'ok':
        return { state: 'sent' };
      case 'gone':
        return { state: 'dropped', error: `token gone: ${r.reason}` };
      case 'failed':
        return { state: 'dead', error: `refused: ${r.reason}` };
      case 'retry':
        if (p.attempts >= this.o.maxAttempts)
          return { state: 'dead', error: `${p.attempts} attempts; last: ${r.reason}` };
        return { state: 'retry', delayMs: retryDelay(this.o, p.attempts, r.retryAfterMs), error: r.reason };
    }
  }

  private async sweepAll(): Promise<void> {
    try {
      const counts = await Promise.all(
        this.db.all.map((sql) => sweep(sql, this.o.keepMs, this.o.keepDeadMs)),
      );
      this.stats.deadStored = counts.reduce((a, b) => a + b, 0);
    } catch (err) {
      this.problems.error('sweep', { err }, 'push outbox: sweeping old rows failed');
    }
  }
}

function messageOf(p: ClaimedPush, d: NonNullable<ClaimedPush['device']>): PushMessage {
  return { ...p.message, ...d, notificationId: p.notificationId };
}
