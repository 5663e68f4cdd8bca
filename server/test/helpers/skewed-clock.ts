/**
 * A wall clock a test can move forward, for the whole process: `Date.now()`
 * and `new Date()` (what jose checks a token's `exp` against, what the
 * minter stamps, what the gateway's expiry sweep and the SDK read) answer
 * real time plus `skewMs`. Timers are untouched: moving the clock is what a
 * device sees after sleeping, without waiting that long. Install it before
 * starting the node (the gateway keeps the `Date.now` it finds) and
 * uninstall it after shutting the node down; vitest runs each test file in
 * its own worker, so no other file sees it.
 */
export class SkewedClock {
  skewMs = 0;
  readonly #real = Date;

  install(): this {
    const real = this.#real;

    const now = () => real.now() + this.skewMs;
    globalThis.Date = new Proxy(real, {
      construct: (target, args, newTarget) =>
        Reflect.construct(
          target,
          args.length > 0 ? args : [now()],
          newTarget === globalThis.Date ? target : newTarget,
        ),
      get: (target, key, receiver) => (key === 'now' ? now : Reflect.get(target, key, receiver)),
    });
    return this;
  }

  /** Moves the clock forward, as a sleep of `ms` would. */
  jump(ms: number): void {
    this.skewMs += ms;
  }

  uninstall(): void {
    globalThis.Date = this.#real;
  }
}
