import { type Codec, jsonWireCodec, msgpackWireCodec } from '@shutter/protocol/wire';
import { type BackoffOptions, checkBackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import type { ClientInfo } from './connection.js';
import { defaultWebSocket, type WebSocketConstructor } from './websocket.js';

export interface ClientOptions {
  /**
   * WebSocket endpoint, e.g. `wss://api.example.com/ws`, or several (the
   * nodes of a cluster with no load balancer in front): the client then
   * takes the next one each time a connection ends or fails, so a node that
   * drains (`going_away`) or is down is left for another, and streams
   * resume there. Never put the token here.
   */
  url: string | readonly string[];
  /** A fixed token. Without `getToken` the client cannot recover from an expired or refused token. */
  token?: string;
  /**
   * Returns a fresh token; called before the first connect when `token` is
   * absent, on `token_expiring`, and after an `auth_failed`/`token_expired`
   * close. Return an empty string when the user is signed out: the client
   * then stops. A rejection is retried with backoff.
   */
  getToken?: () => Promise<string>;
  /**
   * Preferred wire codec; default `msgpack`. Both subprotocols are offered,
   * this one first, and the server selects the first it supports.
   */
  codec?: 'msgpack' | 'json';
  /** WebSocket constructor; default `globalThis.WebSocket`. On Node 20 pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  clientInfo?: ClientInfo;
  /** Default deadline of `call()`, outbox time included; default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Time from opening the socket to `welcome`; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long to wait for any frame after a ping before declaring the socket half-open; default 10 000 ms. */
  probeTimeoutMs?: number;
  /** Full-jitter exponential backoff between failed attempts; default min 500, max 20 000, factor 2. */
  backoff?: Partial<BackoffOptions>;
  /** Upper bound of the jitter before an immediate (`resume`) or server-directed reconnect; default 500 ms. */
  resumeJitterMs?: number;
  /** A connection that stays open this long resets the backoff (protocol §10.2); default 5 000 ms. */
  stableConnectionMs?: number;
  /** How long events after a hole wait for the missing ones before resubscribing; default 1 000 ms, 0 = at once. */
  reorderWindowMs?: number;
  /** How many calls may wait for a connection; default 100. */
  outboxLimit?: number;
  /**
   * How long the socket stays open after `setAppState('background')` (a
   * call in flight may finish); default 0: closed at once, so the server
   * sees the user gone and push takes over.
   */
  backgroundGraceMs?: number;
  /** Source of randomness for jitter, [0, 1); for tests. */
  random?: () => number;
}

export const DEFAULTS = {
  codec: 'msgpack',
  requestTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  probeTimeoutMs: 10_000,
  resumeJitterMs: 500,
  outboxLimit: 100,
  stableConnectionMs: 5_000,
  reorderWindowMs: 1_000,
  backgroundGraceMs: 0,
} as const;

export interface ResolvedOptions {
  /** At least one; tried in turn. */
  urls: readonly string[];
  token: string | undefined;
  getToken: (() => Promise<string>) | undefined;
  /** Preferred first. */
  codecs: readonly Codec[];
  WebSocket: WebSocketConstructor;
  clientInfo: ClientInfo | undefined;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  probeTimeoutMs: number;
  backoff: BackoffOptions;
  resumeJitterMs: number;
  outboxLimit: number;
  stableConnectionMs: number;
  reorderWindowMs: number;
  backgroundGraceMs: number;
  random: () => number;
}

type Duration =
  | 'requestTimeoutMs'
  | 'connectTimeoutMs'
  | 'probeTimeoutMs'
  | 'stableConnectionMs'
  | 'resumeJitterMs'
  | 'reorderWindowMs'
  | 'backgroundGraceMs';

/** A duration option or its default, refused unless > 0 (or ≥ 0 where `zero` is allowed). */
function duration(o: ClientOptions, name: Duration, zero?: boolean): number {
  const value = o[name] ?? DEFAULTS[name];
  if (!(value > 0 || (zero && value === 0)))
    throw new RangeError(`${name} must be a number ${zero ? '≥' : '>'} 0`);
  return value;
}

/** Parses options once: defaults filled in, contradictions refused with one clear sentence. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  const urls = typeof o.url === 'string' ? [o.url] : [...o.url];
  if (urls.length === 0) throw new TypeError('url must name at least one endpoint');
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new TypeError(`url is not a valid URL: ${JSON.stringify(u)}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
      throw new TypeError('url must start with ws:// or wss://');
  }
  if (o.token === undefined && o.getToken === undefined) throw new TypeError('give either token or getToken');
  if (o.token !== undefined && o.token.length === 0) throw new TypeError('token must not be empty');
  const WebSocket = o.WebSocket ?? defaultWebSocket();
  if (!WebSocket) {
    throw new TypeError('no global WebSocket on this platform: pass the WebSocket option (on Node 20, `ws`)');
  }
  const codecName = o.codec ?? DEFAULTS.codec;
  if (codecName !== 'msgpack' && codecName !== 'json')
    throw new TypeError('codec must be "msgpack" or "json"');
  // The server refuses a hello whose client info is too long (protocol HelloMsg);
  // that would end in a reconnect loop, so refuse it here.
  const limits = { name: 64, version: 32, platform: 32 } as const;
  for (const key of ['name', 'version', 'platform'] as const) {
    const value = o.clientInfo?.[key];
    if (value !== undefined && value.length > limits[key]) {
      throw new RangeError(`clientInfo.${key} must be at most ${limits[key]} characters`);
    }
  }
  const outboxLimit = o.outboxLimit ?? DEFAULTS.outboxLimit;
  if (!(Number.isInteger(outboxLimit) && outboxLimit >= 0))
    throw new RangeError('outboxLimit must be an integer ≥ 0');
  return {
    urls,
    token: o.token,
    getToken: o.getToken,
    codecs: codecName === 'json' ? [jsonWireCodec, msgpackWireCodec] : [msgpackWireCodec, jsonWireCodec],
    WebSocket,
    clientInfo: o.clientInfo,
    requestTimeoutMs: duration(o, 'requestTimeoutMs'),
    connectTimeoutMs: duration(o, 'connectTimeoutMs'),
    probeTimeoutMs: duration(o, 'probeTimeoutMs'),
    backoff: checkBackoffOptions({ ...DEFAULT_BACKOFF, ...o.backoff }),
    resumeJitterMs: duration(o, 'resumeJitterMs', true),
    outboxLimit,
    reorderWindowMs: duration(o, 'reorderWindowMs', true),
    backgroundGraceMs: duration(o, 'backgroundGraceMs', true),
    stableConnectionMs: duration(o, 'stableConnectionMs'),
    random: o.random ?? Math.random,
  };
}
