import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One push the receiver got: when, the parsed JSON body and the request headers. */
export interface ReceivedPush {
  at: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the pushed JSON field by field.
  body: any;
  headers: IncomingMessage['headers'];
}

/** How the receiver answers one push: a status (headers, body), or `hold` (no answer until `releaseHeld`). */
export type PushAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | 'hold';

/**
 * A local push provider for tests: a node:http server on a free loopback
 * port that records every POST and answers as `answer` says (200 `{}` by
 * default), so tests drive the HTTP push provider through every outcome.
 */
export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  answer: (push: ReceivedPush, nth: number) => PushAnswer | Promise<PushAnswer> = () => ({
    status: 200,
    body: {},
  });
  private readonly held = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<PushReceiver> {
    let receiver: PushReceiver | undefined;
    const server = createServer((req, res) => receiver?.handle(req, res));
    receiver = new PushReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/push`;
  }

  /** Pushes received for one notification, in order. */
  of(notificationId: string): ReceivedPush[] {
    return this.received.filter((p) => p.body?.notificationId === notificationId);
  }

  /** Resolves once `check` holds, polling every 20 ms; fails after `timeoutMs`. */
  async until(
    check: () => boolean,
    timeoutMs = 10_000,
    what = 'the receiver to get what was expected',
  ): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends every held request without an answer (its sender sees the connection reset). */
  dropHeld(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.dropHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const push: ReceivedPush = {
        at: Date.now(),
        body: text ? JSON.parse(text) : undefined,
        headers: req.headers,
      };
      this.received.push(push);
      void Promise.resolve(this.answer(push, this.received.length)).then((a) => this.reply(res, a));
    });
  }

  private reply(res: ServerResponse, a: PushAnswer): void {
    if (a === 'hold') {
      this.held.add(res);
      return;
    }
    if (res.destroyed) return;
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  }
}
