import type { AuthResult } from '@shutter/protocol/wire';
import { toError } from './errors.js';
import type { RequestManager } from './requests.js';
import type { ClientErrorEvent } from './types.js';

export interface ReauthDeps {
  getToken: (() => Promise<string>) | undefined;
  requests: RequestManager;
  timeoutMs: number;
  /** A token for the next `hello` too, in case this socket drops meanwhile. */
  storeToken(token: string): void;
  isAuthenticated(): boolean;
  onRenewed(expiresAt: number): void;
  onError(event: ClientErrorEvent): void;
}

/**
 * Replaces the token on the open socket when the server says it is
 * expiring: `getToken()`, then `auth`; subscriptions are untouched. One
 * refresh at a time; `isCurrent` lets a stopped client drop a late token.
 */
export class Reauthenticator {
  readonly #d: ReauthDeps;
  #busy = false;

  constructor(deps: ReauthDeps) {
    this.#d = deps;
  }

  async run(isCurrent: () => boolean): Promise<void> {
    const { getToken } = this.#d;
    if (!getToken) {
      this.#d.onError({ kind: 'token', error: new Error('the token is expiring and there is no getToken') });
      return;
    }
    if (this.#busy) return;
    this.#busy = true;
    try {
      const token = await getToken();
      if (!isCurrent()) return;
      if (typeof token !== 'string' || token.length === 0) throw new Error('getToken() returned no token');
      this.#d.storeToken(token);
      if (this.#d.isAuthenticated()) this.#send(token);
    } catch (err) {
      if (isCurrent()) this.#d.onError({ kind: 'token', error: toError(err) });
    } finally {
      this.#busy = false;
    }
  }

  #send(token: string): void {
    this.#d.requests.sendNow({
      build: (id) => ({ t: 'auth', id, token }),
      resend: false,
      timeoutMs: this.#d.timeoutMs,
      settle: (outcome) => {
        if (!outcome.ok) {
          if (outcome.error.code !== 'disconnected')
            this.#d.onError({ kind: 'reauth', error: outcome.error });
          return;
        }
        const expiresAt = (outcome.result as AuthResult | undefined)?.expiresAt;
        if (typeof expiresAt === 'number') this.#d.onRenewed(expiresAt);
      },
    });
  }
}
