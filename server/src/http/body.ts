import { ShutterError } from '@shutter/protocol';

export interface HttpEngineOptions {
  /** HTTP_BODY_TIMEOUT_MS: longest wait for the next bytes of a body being read. */
  bodyTimeoutMs: number;
  /** HTTP_SEND_TIMEOUT_MS: longest wait for the client to take more of a response; then the connection is closed. */
  sendTimeoutMs: number;
}

/** The settings' defaults, for servers built without the config (tests, side listeners). */
export const DEFAULT_HTTP_OPTIONS: HttpEngineOptions = { bodyTimeoutMs: 10_000, sendTimeoutMs: 60_000 };

/** Whether the request announces a body (Content-Length above 0, or chunked). */
export function announcesBody(headers: Readonly<Record<string, string>>): boolean {
  const len = headers['content-length'];
  return (len !== undefined && len.trim() !== '0') || headers['transfer-encoding'] !== undefined;
}

/**
 * The client closed its connection before its request was done (an upload
 * dropped mid-body, say). Expected: logged at debug, counted, never answered.
 */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  constructor() {
    super('the client went away');
  }
}

/** No request body bytes arrived for `HTTP_BODY_TIMEOUT_MS` while the server waited: answered 408, connection closed. */
export class BodyTimeoutError extends ShutterError {
  constructor(timeoutMs: number) {
    super('timeout', `no request body bytes arrived for ${timeoutMs} ms`, {
      details: { bodyTimeoutMs: timeoutMs },
    });
  }
}

/**
 * `source` with a bound on silence: each wait for the next chunk fails with
 * `BodyTimeoutError` after `timeoutMs`. Only time spent waiting on the
 * client counts; while the consumer is busy with a chunk no timer runs. A
 * failure of the source becomes `ClientGoneError` when `gone()` says the
 * client disconnected. The source is not closed on timeout: the engine
 * answers 408 and closes the connection itself.
 */
export async function* idleBounded(
  source: AsyncIterable<Uint8Array>,
  timeoutMs: number,
  gone: (err: unknown) => boolean,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  try {
    for (;;) {
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BodyTimeoutError(timeoutMs)), timeoutMs);
      });
      let r: IteratorResult<Uint8Array>;
      try {
        r = await Promise.race([it.next(), idle]);
      } catch (err) {
        finished = true;
        if (err instanceof BodyTimeoutError) throw err;
        throw gone(err) ? new ClientGoneError() : err;
      } finally {
        clearTimeout(timer);
      }
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // The consumer stopped early: let the source release what it holds.
    if (!finished) await it.return?.();
  }
}
