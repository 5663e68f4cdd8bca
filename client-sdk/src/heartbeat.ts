/**
 * Client-side liveness. The client sends `ping` whenever it has sent nothing
 * for `intervalMs` (the server's `limits.pingIntervalMs`), which also keeps
 * the server's idle timer happy. After a ping, if no frame at all arrives
 * within `probeTimeoutMs`, the socket is half-open (a dead NAT entry, a
 * phone that changed networks): `onDead` fires and the caller reconnects.
 *
 * A ping timer that fires more than `intervalMs` late means the device slept
 * (timers do not run while it does): the socket is then probed at once with
 * the short deadline of `probe(true)`, as after a network change.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  probeTimeoutMs: number;
  sendPing: () => void;
  onDead: () => void;
  now?: () => number;
}

/** Deadline of a quick probe (network change, wake), unless `probeTimeoutMs` is shorter. */
export const QUICK_PROBE_MS = 2_000;

export class Heartbeat {
  readonly #o: HeartbeatOptions;
  readonly #now: () => number;
  #lastSent = 0;
  /** When the ping timer should fire. */
  #due = 0;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#running || !(this.#o.intervalMs > 0)) return;
    this.#running = true;
    this.#lastSent = this.#now();
    this.#schedule(this.#o.intervalMs);
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#probeTimer);
    this.#pingTimer = undefined;
    this.#probeTimer = undefined;
  }

  /** Call on every frame sent. */
  sent(): void {
    this.#lastSent = this.#now();
  }

  /** Call on every frame received: any frame proves the socket alive. */
  received(): void {
    if (this.#probeTimer !== undefined) {
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
    }
  }

  /**
   * Pings now; `onDead` unless a frame arrives within `probeTimeoutMs`. A
   * `quick` probe (re)starts the deadline at `QUICK_PROBE_MS` (or
   * `probeTimeoutMs` if shorter); a regular one leaves an armed probe alone.
   */
  probe(quick?: boolean): void {
    if (!this.#running) return;
    this.#o.sendPing();
    this.#lastSent = this.#now();
    if (this.#probeTimer !== undefined && !quick) return;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(
      () => {
        this.#probeTimer = undefined;
        if (this.#running) this.#o.onDead();
      },
      Math.min(quick ? QUICK_PROBE_MS : Infinity, this.#o.probeTimeoutMs),
    );
  }

  #schedule(ms: number): void {
    this.#due = this.#now() + ms;
    this.#pingTimer = setTimeout(() => this.#tick(), Math.max(0, ms));
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#now();
    const slept = now - this.#due > this.#o.intervalMs;
    const idle = now - this.#lastSent;
    if (idle < this.#o.intervalMs && !slept) {
      this.#schedule(this.#o.intervalMs - idle);
      return;
    }
    this.probe(slept);
    if (this.#running) this.#schedule(this.#o.intervalMs);
  }
}
