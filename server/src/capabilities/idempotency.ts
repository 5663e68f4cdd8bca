import { ShutterError } from '@shutter/protocol';

/**
 * Remembers the result of a state-changing request by (user, key) for a
 * window, so a retry with the same key gets the first answer instead of a
 * second application. Concurrent calls with one key share the first call.
 * One adapter: memory, per node. A retry that lands on another node is still
 * applied once, because the actor keeps its own keys (docs/actor-runtime.md);
 * only this store's `conflict` check (same key, other parameters) is per node.
 */
export interface IdempotencyStore {
  /**
   * Runs `apply` unless a result for this key is known; answers the stored
   * result otherwise. `fingerprint` identifies the request's parameters: the
   * same key with other parameters is a client bug and fails with `conflict`.
   */
  once<T>(scope: string, key: string, fingerprint: string, apply: () => Promise<T>): Promise<T>;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly results = new Map<string, { at: number; fingerprint: string; value: Promise<unknown> }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  once<T>(scope: string, key: string, fingerprint: string, apply: () => Promise<T>): Promise<T> {
    const k = `${scope}\u0000${key}`;
    const t = this.now();
    const hit = this.results.get(k);
    if (hit && t - hit.at < this.windowMs) {
      if (hit.fingerprint !== fingerprint) {
        return Promise.reject(
          new ShutterError('conflict', 'this idempotency key was used for a different request'),
        );
      }
      return hit.value as Promise<T>;
    }
    const value = apply();
    this.results.set(k, { at: t, fingerprint, value });
    // A failed attempt is not remembered: the retry must be able to apply.
    value.catch(() => this.results.delete(k));
    if (this.results.size > 10_000) this.prune(t);
    return value;
  }

  private prune(t: number): void {
    for (const [k, v] of this.results) if (t - v.at >= this.windowMs) this.results.delete(k);
  }
}
