/**
 * Full-jitter exponential backoff (as in centrifuge-js): a random delay in
 * [0, min(cap, base·2^attempt)]. Jitter keeps many retrying callers from
 * arriving together when a shard comes back.
 */
export function fullJitter(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}
