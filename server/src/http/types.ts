/**
 * One HTTP interface over both engines (node:http for the ws transport,
 * uWebSockets.js for uws). Handlers never see the engine's own objects.
 */
export interface HttpRequest {
  readonly method: string;
  /** Decoded path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names are lower-case; repeated headers are joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly remoteAddress: string;
  /** Route parameters (`:name` segments of the matched pattern). */
  params: Record<string, string>;
  /** The matched route pattern (`/v1/uploads/:id`), set by the router: what logs and metrics name a request by. */
  route?: string;
  /**
   * The body as chunks, read with backpressure: the engine pauses the socket
   * while the consumer is busy, so a large body never sits in memory. Each
   * chunk is a fresh copy the consumer may keep. Read at most once.
   * Fails with `BodyTimeoutError` when no bytes arrive for HTTP_BODY_TIMEOUT_MS
   * while the consumer waits, and with `ClientGoneError` when the client disconnects.
   */
  body(): AsyncIterable<Uint8Array>;
  /** The whole body; fails with `payload_too_large` past `maxBytes` (checked before reading when Content-Length is known). */
  readAll(maxBytes: number): Promise<Buffer>;
  /** Aborted when the client disconnects before the response ended. */
  readonly signal: AbortSignal;
}

export interface HttpResponse {
  readonly finished: boolean;
  /** The status set so far (200 until `status` is called). */
  readonly statusCode: number;
  status(code: number): this;
  header(name: string, value: string): this;
  /** Writes a body chunk; resolves when the engine can take more (backpressure). Rejects if the client went away. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Ends the response, optionally with a last chunk. */
  end(body?: Uint8Array | string): void;
  /** Convenience: status, `content-type: application/json`, JSON body, end. */
  json(status: number, value: unknown): void;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse) => Promise<void> | void;
