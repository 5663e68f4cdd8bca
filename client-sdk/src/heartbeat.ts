/**
 * Client-side liveness. The client sends `ping` whenever it has sent nothing
 * for `intervalMs` (the server's `limits.pingIntervalMs`), which also keeps
 * the server's idle timer happy. After a ping, if no frame at all arrives
 * within `probeTimeoutMs`, the socket is half-open (a dead NAT entry, a
 * phone that changed networks): `onDead` fires and the caller reconnects.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  probeTimeoutMs: number;
  sendPing: () => void;
  onDead: () => void;
  now?: () => number;
}

export class Heartbeat {
  readonly #o: HeartbeatOptions;
  readonly #now: () => number;
  #lastSent = 0;
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

  #schedule(ms: number): void {
    this.#pingTimer = setTimeout(() => this.#tick(), Math.max(0, ms));
  }

  #tick(): void {
    if (!this.#running) return;
    const idle = this.#now() - this.#lastSent;
    if (idle < this.#o.intervalMs) {
      this.#schedule(this.#o.intervalMs - idle);
      return;
    }
    this.#o.sendPing();
    this.#lastSent = this.#now();
    if (this.#probeTimer === undefined) {
      this.#probeTimer = setTimeout(() => {
        this.#probeTimer = undefined;
        if (this.#running) this.#o.onDead();
      }, this.#o.probeTimeoutMs);
    }
    if (this.#running) this.#schedule(this.#o.intervalMs);
  }
}
