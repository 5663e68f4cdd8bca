import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawAnswer {
  /** The status line, or '' when the server closed without answering. */
  status: string;
  text: string;
  /** From the first byte sent to the server's close. */
  closedAfterMs: number;
}

/**
 * Sends `pieces` on a raw TCP connection (`gapMs` apart) and waits for the
 * server to close it; gives up (rejects) after `maxMs` with the connection
 * still open.
 */
function rawHttp(node: ShutterNode, pieces: string[], gapMs = 0, maxMs = 20_000): Promise<RawAnswer> {
  const port = Number(new URL(node.url).port);
  return new Promise((resolve, reject) => {
    let text = '';
    let t0 = 0;
    const sock = connect(port, '127.0.0.1', async () => {
      sock.setNoDelay(true);
      t0 = Date.now();
      for (const p of pieces) {
        if (sock.destroyed) return;
        sock.write(p);
        if (gapMs) await sleep(gapMs);
      }
    });
    const giveUp = setTimeout(() => {
      sock.destroy();
      reject(new Error(`still open after ${maxMs} ms; received ${JSON.stringify(text.slice(0, 120))}`));
    }, maxMs);
    sock.on('data', (d) => {
      text += d.toString('latin1');
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(giveUp);
      resolve({ status: text.split('\r\n')[0] ?? '', text, closedAfterMs: Date.now() - t0 });
    });
  });
}

/** Opens a connection that sends a request head announcing `length` bytes and only `sent` of them; resolves once written. */
function holdPartialBody(
  node: ShutterNode,
  head: string,
  length: number,
  sent: string,
): Promise<{ sock: Socket; received: () => string }> {
  const port = Number(new URL(node.url).port);
  return new Promise((resolve, reject) => {
    let text = '';
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(`${head}Content-Length: ${length}\r\n\r\n${sent}`, () =>
        resolve({ sock, received: () => text }),
      );
    });
    sock.on('data', (d) => {
      text += d.toString('latin1');
    });
    sock.on('error', reject);
  });
}

const postHead = (path: string, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}`;

/** A pino logger that keeps every line, for asserting on what the node logged. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

async function waitFor(what: string, check: () => boolean, maxMs = 10_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.each(TRANSPORTS)('HTTP bodies, capacity and logs on %s', (transport) => {
  let node: ShutterNode | undefined;
  const start = async (env: Record<string, string> = {}, logger?: pino.Logger) => {
    node = await startTestNode(transport, env, logger);
    return node;
  };
  afterEach(async () => {
    await node?.shutdown();
    node = undefined;
  });

  it('answers a body that stops arriving with 408 after HTTP_BODY_TIMEOUT_MS (1 s) and closes the connection', async () => {
    const n = await start({ HTTP_BODY_TIMEOUT_MS: '1000' });
    const a = await rawHttp(
      n,
      [`${postHead('/v1/dev/token')}Content-Length: 100\r\n\r\n{"user":`],
      0,
      15_000,
    );
    expect(a.status).toMatch(/^HTTP\/1\.1 408 /);
    expect(a.text).toContain('"code":"timeout"');
    expect(a.closedAfterMs).toBeGreaterThanOrEqual(900);
    // 1 s plus a loaded machine's slack; uWS's own idle timeout would take 8-12 s.
    expect(a.closedAfterMs).toBeLessThan(6000);
  });

  it('closes the connection right after answering a request whose body has not arrived (404, 401)', async () => {
    const n = await start({ HTTP_BODY_TIMEOUT_MS: '30000' });
    const notFound = await rawHttp(n, [
      `${postHead('/no/such/route')}Content-Length: 1000\r\n\r\n0123456789`,
    ]);
    expect(notFound.status).toMatch(/^HTTP\/1\.1 404 /);
    expect(notFound.closedAfterMs).toBeLessThan(2500);
    const anonymous = await rawHttp(n, [
      `PUT /v1/uploads/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n0123456789`,
    ]);
    expect(anonymous.status).toMatch(/^HTTP\/1\.1 401 /);
    expect(anonymous.closedAfterMs).toBeLessThan(2500);
  });

  it('lets a body through that keeps coming, however long it takes in all (the bound is on silence)', async () => {
    const n = await start({ HTTP_BODY_TIMEOUT_MS: '1000' });
    const body = JSON.stringify({ user: 'slow-but-steady', ttlSeconds: 60 });
    const pieces = body.match(/.{1,4}/g) ?? [];
    // ~10 pieces 400 ms apart: 4 s in all, four times the timeout, never 1 s silent.
    const a = await rawHttp(
      n,
      [
        `${postHead('/v1/dev/token', 'Connection: close\r\n')}Content-Length: ${body.length}\r\n\r\n`,
        ...pieces,
      ],
      400,
    );
    expect(a.status).toMatch(/^HTTP\/1\.1 200 /);
    expect(a.text).toContain('"token"');
    expect(a.closedAfterMs).toBeGreaterThan(pieces.length * 400 - 400);
  });

  it('past MAX_HTTP_REQUESTS in flight answers 503 over_capacity with Retry-After: 1, and serves again once they end', async () => {
    const n = await start({ MAX_HTTP_REQUESTS: '2', HTTP_BODY_TIMEOUT_MS: '5000' });
    const held = [
      await holdPartialBody(n, postHead('/v1/dev/token'), 100, '{"us'),
      await holdPartialBody(n, postHead('/v1/dev/token'), 100, '{"us'),
    ];
    // Both are in flight once the node has their heads; give it a moment to read them.
    await sleep(300);
    const over = await fetch(`${n.url}/healthz`);
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('over_capacity');
    // A WebSocket is not an HTTP request: upgrades are still admitted.
    const ws = await RawClient.open(wsUrl(n), await devToken(n, 'still-admitted'), 'json');
    ws.close();
    for (const h of held) h.sock.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${n.url}/healthz`)).status;
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
  });

  it('logs a client that drops an upload mid-body at debug (not as an unexpected error), one access line per request, and refusals at debug', async () => {
    const { logger, lines } = captureLogger();
    const n = await start({ HTTP_BODY_TIMEOUT_MS: '30000' }, logger);
    expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${n.url}/no/such/route`)).status).toBe(404);

    const token = await devToken(n, 'dropper');
    const up = await holdPartialBody(
      n,
      `PUT /v1/uploads/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nAuthorization: Bearer ${token}\r\n`,
      4 * 1024 * 1024,
      'x'.repeat(256 * 1024),
    );
    await sleep(300);
    up.sock.destroy();
    await waitFor('the dropped upload to be logged', () =>
      lines.some((l) => l.msg === 'http client went away' && l.route === '/v1/uploads/stream'),
    );
    const gone = lines.find((l) => l.msg === 'http client went away');
    expect(gone?.level).toBe(20);
    expect(lines.filter((l) => l.msg === 'unexpected error')).toEqual([]);

    // WebSocket refusals: a rejected token, an unknown method, a forbidden subscription.
    const bad = await RawClient.connect(wsUrl(n), 'json');
    bad.send({ t: 'hello', v: 1, token: 'not-a-token' });
    await bad.waitClosed();
    const c = await RawClient.open(wsUrl(n), await devToken(n, 'alice'), 'json');
    expect(await c.call({ t: 'req', method: 'no.such', params: {} } as never)).toMatchObject({
      code: 'unknown_method',
    });
    expect(await c.call({ t: 'sub', stream: 'user:bob:inbox' })).toMatchObject({ code: 'forbidden' });
    c.close();
    await waitFor('the socket close to be logged', () =>
      lines.some((l) => l.msg === 'socket closed' && l.user === 'alice'),
    );
    const refused = lines.filter((l) => l.msg === 'request refused');
    expect(refused.map((l) => l.code).sort()).toEqual(['auth_failed', 'forbidden', 'unknown_method']);
    for (const l of refused) expect(l.level).toBe(20);
    expect(lines.find((l) => l.msg === 'socket closed' && l.user === 'alice')?.level).toBe(20);

    // One access line per request, named by route pattern, at info.
    const access = lines.filter((l) => l.msg === 'http');
    expect(access.find((l) => l.route === '/healthz')).toMatchObject({
      level: 30,
      status: '200',
      method: 'GET',
    });
    expect(access.find((l) => l.path === '/no/such/route')).toMatchObject({
      level: 30,
      status: '404',
      route: 'unmatched',
    });
    expect(access.find((l) => l.route === '/v1/uploads/stream')).toMatchObject({ status: 'aborted' });

    // Metrics: counts and latencies by route pattern, never by raw path.
    const text = await n.metrics.registry.metrics();
    expect(text).toMatch(
      /shutter_http_request_duration_seconds_count\{[^}]*method="GET",route="\/healthz",status="200"[^}]*\} 1\n/,
    );
    expect(text).toMatch(
      /shutter_http_request_duration_seconds_count\{[^}]*method="GET",route="unmatched",status="404"/,
    );
    expect(text).toMatch(
      /shutter_http_request_duration_seconds_count\{[^}]*method="PUT",route="\/v1\/uploads\/stream",status="aborted"/,
    );
    expect(text).not.toContain('/no/such/route');
    expect(text).toContain('shutter_bus_request_duration_seconds');
  });
  it('/metrics times uploads (by route) and media processing runs', async () => {
    const n = await start();
    const token = await devToken(n, 'timed');
    const bytes = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#c83' } })
      .jpeg()
      .toBuffer();
    const r = await fetch(`${n.url}/v1/uploads/stream`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
      body: new Uint8Array(bytes),
    });
    expect(r.status).toBe(201);
    const { media } = (await r.json()) as { media: { mediaId: string } };
    let status = '';
    for (let i = 0; i < 600 && status !== 'ready'; i++) {
      const m = await fetch(`${n.url}/v1/media/${media.mediaId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      status = ((await m.json()) as { status: string }).status;
      if (status !== 'ready') await sleep(100);
    }
    expect(status).toBe('ready');
    // The run is timed when its handler returns, just after it marked the media ready.
    const processed = /shutter_media_processing_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} 1\n/;
    let text = await n.metrics.registry.metrics();
    for (let i = 0; i < 50 && !processed.test(text); i++) {
      await sleep(100);
      text = await n.metrics.registry.metrics();
    }
    expect(text).toMatch(
      /shutter_http_request_duration_seconds_count\{[^}]*method="PUT",route="\/v1\/uploads\/stream",status="201"[^}]*\} 1\n/,
    );
    expect(text).toMatch(processed);
    expect(text).toMatch(
      /shutter_http_request_duration_seconds_count\{[^}]*method="GET",route="\/v1\/media\/:id",status="200"/,
    );
  });
  it('closes a download whose reader stopped taking bytes after HTTP_SEND_TIMEOUT_MS (1 s), freeing its request slot', async () => {
    const { logger, lines } = captureLogger();
    const dataDir = mkdtempSync(join(tmpdir(), 'shutter-send-timeout-'));
    const secret = 'send-timeout-test-secret-0123456789abcdef';
    const n = await start(
      { HTTP_SEND_TIMEOUT_MS: '1000', DATA_DIR: dataDir, MEDIA_SIGNING_SECRET: secret },
      logger,
    );
    const store = new LocalBlobStore({ root: join(dataDir, 'media'), signingSecret: secret });
    // Far more than loopback socket buffers hold: the server must wait on the reader.
    const big = randomBytes(48 * 1024 * 1024);
    const key = `media/v/${createHash('sha256').update(big).digest('hex')}.webp`;
    await store.put(key, big, { contentType: 'image/webp', size: big.length });
    const port = Number(new URL(n.url).port);
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(`GET /media/${key} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    sock.on('error', () => {});
    sock.pause(); // never reads a byte
    const t0 = Date.now();
    try {
      await waitFor(
        'the stalled download to end',
        () => lines.some((l) => l.msg === 'http' && String(l.path).startsWith('/media/')),
        15_000,
      );
    } finally {
      sock.destroy();
    }
    const line = lines.find((l) => l.msg === 'http' && String(l.path).startsWith('/media/'));
    expect(line).toMatchObject({ status: 'aborted' });
    // 1 s of silence after the buffers filled, plus a loaded machine's slack; uWS's own idle timer is ~10 s.
    expect(Date.now() - t0).toBeLessThan(7000);
    expect(lines.filter((l) => l.msg === 'unexpected error')).toEqual([]);
  });
});
