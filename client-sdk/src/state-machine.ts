import { Emitter, type Listener } from './emitter.js';
import { disconnectedError, notReadyError } from './errors.js';
import type { ClientEvents, ClientState, DisconnectReason, StateChange } from './types.js';

/**
 * The observable half of a client: its state, the typed events, and
 * `ready()`. Transitions are made by the subclass through `setState`, which
 * emits `state` only on a real change.
 */
export class ClientStateMachine {
  protected readonly emitter = new Emitter<ClientEvents>();
  #state: ClientState = 'disconnected';
  /** Why the last attempt of the current run ended; cleared by connect(). */
  #attemptEnded: DisconnectReason | undefined;

  get state(): ClientState {
    return this.#state;
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.emitter.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.emitter.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): void {
    this.emitter.off(event, listener);
  }

  /**
   * Resolves once connected. Rejects when the client stops first (with the
   * server's error, e.g. `auth_failed`, or the `UpgradeRefusedError` of a
   * refused upgrade), when it is `disconnected` already, or after `timeoutMs`
   * with a `timeout` error that names why the last attempt failed.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'disconnected')
      return Promise.reject(disconnectedError('the client is disconnected'));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const off = this.on('state', (change) => {
        if (change.state === 'connected') {
          done();
          resolve();
        } else if (change.state === 'disconnected') {
          done();
          reject(
            change.reason?.error ??
              disconnectedError(`the client stopped: ${change.reason?.name ?? 'unknown'}`),
          );
        }
      });
      const done = () => {
        off();
        clearTimeout(timer);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(notReadyError(timeoutMs, this.#attemptEnded));
        }, timeoutMs);
      }
    });
  }

  protected setState(state: ClientState, reason?: DisconnectReason): void {
    if (reason) this.#attemptEnded = reason;
    else if (state === 'connecting') this.#attemptEnded = undefined;
    if (state === this.#state) return;
    const change: StateChange = { state, previous: this.#state };
    if (reason) change.reason = reason;
    this.#state = state;
    this.emitter.emit('state', change);
  }
}
