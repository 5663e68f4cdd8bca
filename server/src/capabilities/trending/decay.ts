/**
 * Trending scores with time decay that never need rewriting.
 *
 * An event (a like, a comment) of weight `w` at time `t` is worth
 * `w · 2^(−(now − t) / H)` at time `now` (H: the half-life). Every score
 * shares the factor `2^(−now / H)`, so the order of scores never depends
 * on `now`: we store the *undecayed* sum `S = Σ w · 2^((t − T0) / H)` and
 * an event only ever adds to its own post's score. Stored scores grow
 * exponentially with time, so they are kept as their natural logarithm
 * `L = ln S` (about 1 000 per year of half-lives of 6 h: far from any
 * floating-point limit), and adding an event is a log-sum-exp. The decayed
 * value now is `e^(L − (now − T0) · ln 2 / H)`.
 *
 * A taken-back event (an unlike, a deleted comment) subtracts the same
 * weight at the time it was taken back, so like-then-unlike never adds up;
 * a score that falls to (about) zero leaves its set.
 *
 * `combine` is the one rule both stores apply (the Redis adapter's Lua
 * script computes the same formula): a contract test holds them together.
 */

/** The origin of the score time scale: 2024-01-01T00:00:00Z. */
export const SCORE_EPOCH_MS = Date.UTC(2024, 0, 1);

/** A score whose sum falls below this fraction of its largest term is zero: it leaves the set. */
export const VANISH_BELOW = 1e-9;

/** ln of one event's undecayed worth: `ln w + (t − T0) · ln 2 / H`. */
export function eventLog(weight: number, atMs: number, halfLifeMs: number): number {
  return Math.log(weight) + ((atMs - SCORE_EPOCH_MS) * Math.LN2) / halfLifeMs;
}

/** `ln(e^a + e^b)`; `-Infinity` is the log of nothing. */
export function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * A stored score after a change: `cur` (undefined when the member is not in
 * the set) plus `e^add` minus `e^sub`, all in log form (`-Infinity` for
 * none). Undefined when the member is (or stays) out of the set: a change
 * that only subtracts from an absent member, or a sum that vanishes.
 */
export function combine(cur: number | undefined, add: number, sub: number): number | undefined {
  const none = Number.NEGATIVE_INFINITY;
  if (cur === undefined && add === none) return undefined;
  const m = Math.max(cur ?? none, add, sub);
  let s = (cur === undefined ? 0 : Math.exp(cur - m)) + (add === none ? 0 : Math.exp(add - m));
  if (sub !== none) s -= Math.exp(sub - m);
  if (s <= VANISH_BELOW) return undefined;
  return m + Math.log(s);
}

/** A stored score's worth at `nowMs` (what a reader shows). */
export function decayedValue(score: number, nowMs: number, halfLifeMs: number): number {
  return Math.exp(score - ((nowMs - SCORE_EPOCH_MS) * Math.LN2) / halfLifeMs);
}
