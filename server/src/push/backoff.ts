/** The retry schedule of the push outbox. */
export interface BackoffOptions {
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** The longest Retry-After a provider may impose; beyond it the retry comes after an hour anyway. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The wait before the attempt after attempt `attempt` (1 = the first)
 * failed: `d = min(max, base · 2^(attempt-1))`, taken at random in
 * `[d/2, d]` ("equal jitter": retries of many pushes failed together spread
 * out, and never come sooner than half the schedule), and never shorter
 * than the provider's Retry-After (capped at {@link MAX_RETRY_AFTER_MS}).
 */
export function retryDelay(
  o: BackoffOptions,
  attempt: number,
  retryAfterMs = 0,
  random: () => number = Math.random,
): number {
  const d = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(d / 2 + (random() * d) / 2);
  return Math.max(jittered, Math.min(MAX_RETRY_AFTER_MS, Math.max(0, retryAfterMs)));
}
