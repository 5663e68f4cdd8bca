import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pushRequest } from '../push/payload.js';
import type { PushMessage, PushProvider, PushResult } from '../push/provider.js';

export interface HttpPushProviderOptions {
  /** Where each push is POSTed (PUSH_HTTP_URL). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string | undefined;
  /** A request not answered within this is a `retry`. */
  timeoutMs: number;
}

/** Most of an answer's body read to classify it (a token-gone reason is a few bytes of JSON). */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * `PushProvider` over HTTP: POSTs the platform request (`push/payload.ts`)
 * as JSON to one URL, e.g. a relay in front of APNs and FCM, and reads the
 * answer as `classifyPushAnswer` says, over kept-alive connections
 * (node:http, not fetch: a fraction of the CPU per request). A network
 * failure or a timeout (no whole answer within `timeoutMs`) throws: a `retry`.
 */
export class HttpPushProvider implements PushProvider {
  readonly name = 'http';
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;

  constructor(private readonly o: HttpPushProviderOptions) {
    this.url = new URL(o.url);
    const https = this.url.protocol === 'https:';
    // Kept-alive connections: a push is one small POST, a new connection each would cost more than it.
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.request = https ? httpsRequest : httpRequest;
  }

  send(message: PushMessage, signal: AbortSignal): Promise<PushResult> {
    const body = Buffer.from(JSON.stringify(pushRequest(message)));
    return new Promise<PushResult>((resolve, reject) => {
      const req = this.request(this.url, {
        method: 'POST',
        agent: this.agent,
        // The whole exchange within the timeout, whatever the server drips: shorter than the lease.
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
        },
      });
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(c);
          size += c.length;
        });
        res.once('error', reject);
        res.once('close', () => {
          if (!res.complete) reject(new Error('the answer was cut off'));
        });
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString().slice(0, MAX_ANSWER_BYTES);
          const retryAfter = res.headers['retry-after'];
          resolve(
            classifyPushAnswer(res.statusCode ?? 0, typeof retryAfter === 'string' ? retryAfter : null, text),
          );
        });
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** Reasons a provider gives for a token that will never work again (APNs, FCM v1, FCM legacy), lower-cased. */
const GONE_REASONS = new Set([
  'unregistered',
  'notregistered',
  'baddevicetoken',
  'expiredtoken',
  'invalidregistration',
]);

/**
 * What an HTTP answer means for the push: a body naming the token as gone
 * (APNs `{"reason":"Unregistered"}` or `BadDeviceToken`, FCM v1
 * `{"error":{"details":[{"errorCode":"UNREGISTERED"}]}}`, FCM legacy
 * `{"results":[{"error":"NotRegistered"}]}`) or a 410 → `gone`; then 2xx →
 * `ok`; 429 and 5xx → `retry`, after `Retry-After` (seconds or an HTTP
 * date) when given; anything else (other 4xx, a redirect) → `failed`.
 */
export function classifyPushAnswer(
  status: number,
  retryAfter: string | null,
  body: string,
  now: number = Date.now(),
): PushResult {
  const goneReason = tokenGoneReason(body);
  if (goneReason) return { outcome: 'gone', reason: `${status} ${goneReason}` };
  if (status === 410) return { outcome: 'gone', reason: '410 Gone' };
  if (status >= 200 && status < 300) return { outcome: 'ok' };
  const reason = `${status} ${body.slice(0, 200)}`.trim();
  if (status === 429 || status >= 500) {
    const after = parseRetryAfter(retryAfter, now);
    return after === undefined
      ? { outcome: 'retry', reason }
      : { outcome: 'retry', reason, retryAfterMs: after };
  }
  return { outcome: 'failed', reason };
}

/** The token-gone reason a JSON body gives, if any. */
function tokenGoneReason(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const candidates: unknown[] = [];
  const o = asObject(json);
  if (!o) return undefined;
  candidates.push(o.reason);
  const error = o.error;
  candidates.push(error);
  const e = asObject(error);
  if (e) {
    candidates.push(e.status);
    if (Array.isArray(e.details)) for (const d of e.details) candidates.push(asObject(d)?.errorCode);
  }
  if (Array.isArray(o.results)) for (const r of o.results) candidates.push(asObject(r)?.error);
  for (const c of candidates) if (typeof c === 'string' && GONE_REASONS.has(c.toLowerCase())) return c;
  return undefined;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
