import { type ErrorCode, isErrorCode, ShutterError } from '@shutter/protocol/wire';

/**
 * A refused WebSocket upgrade: the server (or a proxy in front of it)
 * answered the HTTP upgrade request with a status instead of 101. Only
 * WebSocket implementations that expose the response can report one: `ws`
 * in Node emits `unexpected-response`; browsers, React Native and Node's
 * global WebSocket show nothing but a close with code 1006, which the SDK
 * reports as `connect_failed` (see `connection.ts`).
 */
export interface RefusedUpgrade {
  status: number;
  /** The response body, at most {@link MAX_BODY_CHARS} characters. */
  body: string;
  /** From a `Retry-After` header in seconds. */
  retryAfterMs?: number;
}

const MAX_BODY_CHARS = 2048;
/** How long to wait for the body of a refusal before going on without the rest. */
const BODY_WAIT_MS = 1000;

/** Statuses after which the same upgrade can succeed later: 408, 429 and 5xx. Everything else stops. */
export function refusalHeals(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const codeByStatus: Record<number, ErrorCode> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  408: 'timeout',
  413: 'payload_too_large',
  429: 'rate_limited',
  500: 'internal_error',
};

/**
 * The typed error of a refused upgrade. `status` is the HTTP status;
 * `serverCode` and the message come from the server's JSON body
 * `{"error":{"code","message"}}` (protocol §1.4) when it sent one, else the
 * code follows the status (404 `not_found`, 401 `unauthenticated`, 403
 * `forbidden`, 5xx `unavailable`, other 4xx `bad_request`). `retryable`
 * says whether the client tries again (408, 429, 5xx) or stops.
 */
export class UpgradeRefusedError extends ShutterError {
  readonly status: number;
  readonly serverCode: string | undefined;
  readonly body: string;

  constructor(refusal: RefusedUpgrade) {
    const { status, body } = refusal;
    const sent = parseErrorBody(body);
    const code: ErrorCode =
      sent?.code !== undefined && isErrorCode(sent.code)
        ? sent.code
        : (codeByStatus[status] ?? (status >= 500 ? 'unavailable' : 'bad_request'));
    const text = sent?.message ?? body.trim().slice(0, 200);
    super(code, `the server refused the WebSocket upgrade with HTTP ${status}${text ? `: ${text}` : ''}`, {
      details: { status },
      ...(refusal.retryAfterMs === undefined ? {} : { retryAfterMs: refusal.retryAfterMs }),
    });
    this.status = status;
    this.serverCode = sent?.code;
    this.body = body;
  }

  override get retryable(): boolean {
    return refusalHeals(this.status);
  }
}

function parseErrorBody(body: string): { code?: string; message?: string } | undefined {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error as Record<string, unknown> | undefined;
    if (typeof error !== 'object' || error === null) return undefined;
    const out: { code?: string; message?: string } = {};
    if (typeof error.code === 'string') out.code = error.code;
    if (typeof error.message === 'string') out.message = error.message;
    return out;
  } catch {
    return undefined;
  }
}

/** The part of Node's `http.IncomingMessage` read here. */
interface ResponseLike {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data' | 'end' | 'error' | 'close', listener: (chunk?: unknown) => void): void;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value) * 1000;
}

/**
 * On a `ws` socket (anything with `on`), reads a refused upgrade's status,
 * `Retry-After` and body and hands them over once. Registering the listener
 * tells `ws` not to abort by itself: the caller closes the socket in
 * `onRefused`. Returns false where the socket cannot tell (browsers).
 */
export function watchRefusedUpgrade(socket: unknown, onRefused: (refusal: RefusedUpgrade) => void): boolean {
  const on = (socket as { on?: unknown }).on;
  if (typeof on !== 'function') return false;
  on.call(socket, 'unexpected-response', (_request: unknown, response: ResponseLike) => {
    let body = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const refusal: RefusedUpgrade = { status: response.statusCode ?? 0, body };
      const wait = retryAfterMs(response.headers['retry-after']);
      if (wait !== undefined) refusal.retryAfterMs = wait;
      onRefused(refusal);
    };
    const timer = setTimeout(finish, BODY_WAIT_MS);
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      if (body.length < MAX_BODY_CHARS) body = (body + String(chunk)).slice(0, MAX_BODY_CHARS);
    });
    response.on('end', finish);
    response.on('error', finish);
    response.on('close', finish);
  });
  return true;
}
