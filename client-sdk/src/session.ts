import { type MethodResult, ShutterError } from '@shutter/protocol/wire';
import { errorOf, type FetchLike } from './upload-http.js';

/** What registration and login answer: the user and a fresh pair of tokens. */
export type SessionResult = MethodResult<'accounts.login'>;

export interface SessionOptions {
  /** The server's HTTP base, e.g. `https://api.example.com` (`httpBaseUrl(wsUrl)` derives it). */
  baseUrl: string;
  /** A refresh token kept from an earlier run: the session resumes without a password. */
  refreshToken?: string;
  /**
   * Called with each new refresh token (they rotate: every refresh spends
   * the old one) and with `undefined` when the session ends. Persist it in
   * the platform's secure storage.
   */
  onRefreshToken?: (token: string | undefined) => void;
  /** Refresh this long before the access token expires; default 60 000 ms. */
  marginMs?: number;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  now?: () => number;
}

/**
 * Accounts over HTTP and the token provider for `ShutterClient`: pass
 * `session.getToken` as the client's `getToken`. It answers the access
 * token while it has more than `marginMs` left, else refreshes once (one
 * refresh at a time however many callers ask: a refresh token is single
 * use, and presenting a spent one ends the session on the server). It
 * answers `''` once the session is over (logged out, or the server refused
 * the refresh token), which stops the client; a network failure rejects, and
 * the client retries with backoff.
 */
export class Session {
  readonly #o: SessionOptions;
  #access: { token: string; expiresAt: number } | undefined;
  #refresh: string | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#refresh = options.refreshToken;
  }

  /** Whether there is a session to get tokens from. */
  get signedIn(): boolean {
    return this.#refresh !== undefined;
  }

  register(username: string, password: string, displayName?: string): Promise<SessionResult> {
    return this.#start('/v1/accounts', { username, password, ...(displayName ? { displayName } : {}) });
  }

  login(username: string, password: string): Promise<SessionResult> {
    return this.#start('/v1/sessions', { username, password });
  }

  readonly getToken = (): Promise<string> => {
    const a = this.#access;
    if (a && a.expiresAt - (this.#o.marginMs ?? 60_000) > (this.#o.now ?? Date.now)())
      return Promise.resolve(a.token);
    if (this.#refresh === undefined) return Promise.resolve('');
    this.#pending ??= this.#rotate(this.#refresh).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  };

  /** Ends the session here and on the server (its refresh tokens are revoked). */
  async logout(): Promise<void> {
    const token = this.#refresh;
    this.#end();
    if (token) await this.#post('/v1/sessions/logout', { refreshToken: token });
  }

  async #start(path: string, body: object): Promise<SessionResult> {
    const s = await this.#post<SessionResult>(path, body);
    this.#take(s);
    return s;
  }

  async #rotate(refreshToken: string): Promise<string> {
    try {
      const t = await this.#post<MethodResult<'accounts.refresh'>>('/v1/sessions/refresh', { refreshToken });
      this.#take(t);
      return t.accessToken;
    } catch (e) {
      if (!(e instanceof ShutterError && e.code === 'refresh_token_invalid')) throw e;
      this.#end();
      return '';
    }
  }

  #take(t: Omit<SessionResult, 'user'>): void {
    this.#access = { token: t.accessToken, expiresAt: t.accessTokenExpiresAt };
    this.#refresh = t.refreshToken;
    this.#o.onRefreshToken?.(t.refreshToken);
  }

  #end(): void {
    this.#access = this.#refresh = undefined;
    this.#o.onRefreshToken?.(undefined);
  }

  async #post<T>(path: string, body: object): Promise<T> {
    let res: Response;
    try {
      res = await (this.#o.fetch ?? globalThis.fetch)(this.#o.baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      throw new ShutterError('disconnected', `the request to ${path} failed`, { cause });
    }
    if (!res.ok) throw await errorOf(res, false);
    return (await res.json()) as T;
  }
}
