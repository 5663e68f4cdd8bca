export type Listener<T> = (payload: T) => void;

/**
 * A small typed event emitter. A listener that throws must not break the
 * SDK's own bookkeeping in the middle of a frame, so its error is rethrown
 * on a fresh task (it still shows up as an uncaught error).
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) invokeSafely(listener as Listener<Events[K]>, payload);
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}

/** Calls an app callback; a throw is rethrown asynchronously instead of unwinding the SDK. */
export function invokeSafely<T>(fn: (payload: T) => void, payload: T): void {
  try {
    fn(payload);
  } catch (err) {
    setTimeout(() => {
      throw err;
    }, 0);
  }
}
