import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

/** What came back for a raw request: the status line (or '' for nothing) and when the server closed. */
interface RawAnswer {
  status: string;
  text: string;
  closedAfterMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The head of a valid WebSocket upgrade to /ws, without the blank line that ends it. */
function upgradeHead(extra: string[] = []): string {
  return [
    'GET /ws HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: shutter.v1.json',
    ...extra,
  ]
    .map((l) => `${l}\r\n`)
    .join('');
}
const BASE_HEADERS = 6;

/** `n` small headers: with the upgrade's own, `BASE_HEADERS + n` in all. */
const filler = (n: number) => Array.from({ length: n }, (_, i) => `X-Filler-${i}: v`);

/**
 * Writes `pieces` to a raw TCP connection (`gapMs` apart, so each arrives in
 * its own read) and waits for the server to close it, or for a 101, after
 * which it closes itself. Gives up after `maxMs`.
 */
function rawRequest(node: ShutterNode, pieces: string[], gapMs = 0, maxMs = 20_000): Promise<RawAnswer> {
  const port = Number(new URL(node.url).port);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let text = '';
    const sock = connect(port, '127.0.0.1', async () => {
      sock.setNoDelay(true);
      for (const p of pieces) {
        if (sock.destroyed) return;
        sock.write(p);
        if (gapMs) await sleep(gapMs);
      }
    });
    const giveUp = setTimeout(() => {
      sock.destroy();
      reject(new Error(`still open after ${maxMs} ms; received ${JSON.stringify(text.slice(0, 80))}`));
    }, maxMs);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (text.startsWith('HTTP/1.1 101 ') && text.includes('\r\n\r\n')) sock.destroy();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(giveUp);
      resolve({ status: text.split('\r\n')[0] ?? '', text, closedAfterMs: Date.now() - t0 });
    });
  });
}

async function stillServes(node: ShutterNode): Promise<void> {
  const c = await RawClient.open(wsUrl(node), await devToken(node, 'after'), 'json');
  try {
    const res = await c.call({ t: 'req', method: 'system.echo', params: { text: 'still here' } });
    expect(res).toMatchObject({ t: 'res' });
  } finally {
    c.close();
  }
}

// Small limits so each case is cheap; uWS's own fixed limits are pinned too (measured on
// uWebSockets.js 20.30: at most 48 headers, 4096 bytes for a head arriving in pieces,
// a fixed ~10 s HTTP idle timeout). UPGRADE_TIMEOUT_MS is honoured by ws only.
const LIMITS = { MAX_HEADERS: '20', MAX_HEADER_BYTES: '2048', UPGRADE_TIMEOUT_MS: '1000' };

describe.each(TRANSPORTS)('handshake limits on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport, LIMITS);
  });
  afterAll(async () => {
    await node?.shutdown();
  });

  it('a normal upgrade near (not over) the limits gets 101', async () => {
    const head = upgradeHead([...filler(20 - BASE_HEADERS - 1), `X-Pad: ${'p'.repeat(1200)}`]);
    const r = await rawRequest(node, [`${head}\r\n`]);
    expect(r.status).toBe('HTTP/1.1 101 Switching Protocols');
    await stillServes(node);
  });

  it('refuses an upgrade with more than MAX_HEADERS headers with 431, without upgrading', async () => {
    const r = await rawRequest(node, [`${upgradeHead(filler(21 - BASE_HEADERS))}\r\n`]);
    expect(r.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(r.text).toContain('more than 20 request headers');
    expect(r.text).not.toContain('101 Switching');
    expect(r.closedAfterMs).toBeLessThan(5000); // at once, with room for a loaded machine
    await stillServes(node);
  });

  it('refuses a plain HTTP request with more than MAX_HEADERS headers with 431', async () => {
    const head = ['GET /healthz HTTP/1.1', 'Host: 127.0.0.1', ...filler(25)].map((l) => `${l}\r\n`).join('');
    const r = await rawRequest(node, [`${head}\r\n`]);
    expect(r.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    await stillServes(node);
  });

  it('refuses an upgrade whose head is larger than MAX_HEADER_BYTES with 431', async () => {
    // 3 KB in one write: one read on the server, under uWS's own 4 KB cap for heads in pieces.
    const r = await rawRequest(node, [`${upgradeHead([`X-Big: ${'b'.repeat(3000)}`])}\r\n`]);
    expect(r.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(r.text).not.toContain('101 Switching');
    await stillServes(node);
  });

  if (transport === 'ws') {
    it('closes a head that never completes with 408 after UPGRADE_TIMEOUT_MS (1 s)', async () => {
      const r = await rawRequest(node, [upgradeHead()]);
      expect(r.status).toBe('HTTP/1.1 408 Request Timeout');
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(r.closedAfterMs).toBeLessThan(5000);
      await stillServes(node);
    });

    it('refuses more than 48 headers with 431 at once (uWS cannot)', async () => {
      const r = await rawRequest(node, [`${upgradeHead(filler(49 - BASE_HEADERS))}\r\n`]);
      expect(r.status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(r.closedAfterMs).toBeLessThan(5000); // at once, with room for a loaded machine
    });
  } else {
    it('closes a head that never completes at uWS fixed ~10 s HTTP idle timeout without a response (UPGRADE_TIMEOUT_MS is not honoured)', async () => {
      // Dripping bytes does not extend it: the timer runs from the connection's start.
      const r = await rawRequest(node, [upgradeHead(), 'X-Drip-1: v\r\n', 'X-Drip-2: v\r\n'], 3000);
      expect(r.status).toBe('');
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(7000);
      expect(r.closedAfterMs).toBeLessThan(25_000);
      await stillServes(node);
    });

    it('leaves a head with more than 48 headers unanswered: uWS drops it at its ~10 s idle timeout', async () => {
      const r = await rawRequest(node, [`${upgradeHead(filler(49 - BASE_HEADERS))}\r\n`]);
      expect(r.status).toBe('');
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(7000);
      expect(r.closedAfterMs).toBeLessThan(25_000);
      await stillServes(node);
    });
  }
});

describe.each(TRANSPORTS)('a head over 4096 bytes in pieces (default 16 KiB limit) on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport);
  });
  afterAll(async () => {
    await node?.shutdown();
  });

  const head = `${upgradeHead([`X-Big: ${'b'.repeat(6000)}`])}\r\n`;
  const pieces = [head.slice(0, 1000), head.slice(1000, 4000), head.slice(4000)];

  if (transport === 'ws') {
    it('is accepted with 101 (under 16 KiB)', async () => {
      const r = await rawRequest(node, pieces, 50);
      expect(r.status).toBe('HTTP/1.1 101 Switching Protocols');
      await stillServes(node);
    });
  } else {
    it('is closed at once without a response: uWS buffers at most 4096 bytes of a head', async () => {
      const r = await rawRequest(node, pieces, 50);
      expect(r.status).toBe('');
      expect(r.closedAfterMs).toBeLessThan(5000); // at once, with room for a loaded machine
      await stillServes(node);
    });

    it('the same head in one write is accepted with 101 (uWS limits only what it must buffer)', async () => {
      const r = await rawRequest(node, [head]);
      expect(r.status).toBe('HTTP/1.1 101 Switching Protocols');
      await stillServes(node);
    });
  }
});
