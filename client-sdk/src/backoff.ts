/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): attempt n waits a uniformly random time in
 * [0, min(maxMs, minMs * factor^n)). Full jitter spreads a crowd of clients
 * that lost the same node over the whole window instead of letting them
 * return in synchronised waves.
 */
export interface BackoffOptions {
  /** Upper bound of the first window, in ms. */
  minMs: number;
  /** The window never grows past this, in ms. */
  maxMs: number;
  /** Growth of the window per attempt (≥ 1). */
  factor: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { minMs: 500, maxMs: 20_000, factor: 2 };

/** The window (upper bound of the delay) of attempt `attempt` (0-based). */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const grown = options.minMs * options.factor ** Math.max(0, attempt);
  return Math.min(options.maxMs, Number.isFinite(grown) ? grown : options.maxMs);
}

/** A delay drawn with full jitter for attempt `attempt`; `random` returns [0, 1). */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, options));
}

/** Checks options once, with one clear sentence per contradiction. */
export function checkBackoffOptions(options: BackoffOptions): BackoffOptions {
  const { minMs, maxMs, factor } = options;
  if (!(Number.isFinite(minMs) && minMs >= 0))
    throw new RangeError('backoff.minMs must be a finite number ≥ 0');
  if (!(Number.isFinite(maxMs) && maxMs >= minMs))
    throw new RangeError('backoff.maxMs must be finite and ≥ backoff.minMs');
  if (!(Number.isFinite(factor) && factor >= 1))
    throw new RangeError('backoff.factor must be a finite number ≥ 1');
  return { minMs, maxMs, factor };
}

/** Counts attempts and draws the next delay; `reset()` after a success. */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: Partial<BackoffOptions> = {}, random: () => number = Math.random) {
    this.#options = checkBackoffOptions({ ...DEFAULT_BACKOFF, ...options });
    this.#random = random;
  }

  /** How many delays were drawn since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const delay = fullJitterDelay(this.#attempt, this.#options, this.#random);
    this.#attempt += 1;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Runs `fn` until it resolves, waiting a full-jitter delay between attempts.
 * `shouldRetry` decides per error (default: always); the last error is thrown
 * once it says no or `maxAttempts` is reached.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: {
    backoff?: Partial<BackoffOptions>;
    maxAttempts?: number;
    shouldRetry?: (err: unknown) => boolean;
    random?: () => number;
  } = {},
): Promise<T> {
  const backoff = new Backoff(options.backoff, options.random);
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= maxAttempts || !(options.shouldRetry?.(err) ?? true)) throw err;
      const delay = backoff.next();
      await new Promise<void>((resolve) => setTimeout(resolve, delay));
    }
  }
}
