import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout. */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * A gate for a line that could be logged on every call while something is
 * down (a stalled Redis): answers true at most once per `everyMs`.
 */
export function onceEvery(everyMs: number, now: () => number = Date.now): () => boolean {
  let at = Number.NEGATIVE_INFINITY;
  return () => {
    const t = now();
    if (t - at < everyMs) return false;
    at = t;
    return true;
  };
}

/**
 * Logs the first of identical events at once and, per `windowMs`, one more
 * line with how many repeats it held back (`repeated`), instead of one line
 * per repeat: a failing request retried dozens of times a second must not
 * write a stack each time. Identity is the caller's `key`. At most `maxKeys`
 * identities are tracked; beyond that, events are logged as they come.
 */
export class DedupLog {
  private readonly seen = new Map<
    string,
    { held: number; last: Record<string, unknown>; msg: string; until: number }
  >();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    private readonly maxKeys = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  error(key: string, obj: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const e = this.seen.get(key);
    if (e && t < e.until) {
      e.held++;
      e.last = obj;
      return;
    }
    if (e) this.flushOne(key, e, t);
    else if (this.seen.size >= this.maxKeys) return void this.log.error(obj, msg);
    this.log.error(obj, msg);
    this.seen.set(key, { held: 0, last: obj, msg, until: t + this.windowMs });
    if (!this.timer) {
      this.timer = setInterval(() => this.flush(), this.windowMs);
      this.timer.unref?.();
    }
  }

  /** Writes the held-back counts of windows that ended (or all, with `all`). */
  flush(all = false): void {
    const t = this.now();
    for (const [k, e] of this.seen) if (all || t >= e.until) this.flushOne(k, e, t);
    if (this.seen.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private flushOne(
    key: string,
    e: { held: number; last: Record<string, unknown>; msg: string },
    t: number,
  ): void {
    this.seen.delete(key);
    if (e.held > 0) {
      // The repeats: one line, without the stack (the first line had it).
      const { err, ...rest } = e.last;
      const summary: Record<string, unknown> = { ...rest, repeated: e.held, windowMs: this.windowMs };
      if (err instanceof Error) summary.error = { type: err.name, message: err.message };
      this.log.error(summary, `${e.msg} (repeated)`);
      // A key still repeating keeps being counted in a new window.
      this.seen.set(key, { held: 0, last: e.last, msg: e.msg, until: t + this.windowMs });
    }
  }

  close(): void {
    this.flush(true);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The identity of an actor runtime report, for `DedupLog`: same code, message, phase and actor type. */
export function actorErrorKey(err: unknown, ctx: Record<string, unknown>): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  return `${String(e?.code ?? e?.name)}|${String(e?.message)}|${String(ctx.phase ?? '')}|${String(ctx.type ?? '')}`;
}
