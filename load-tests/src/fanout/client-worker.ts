import { performance } from 'node:perf_hooks';
import { jsonCodec, msgpackCodec } from '@shutter/protocol';
import WebSocket from 'ws';
import { Histogram } from './histogram.js';
import type { ClientCommand, ClientReply } from './ipc.js';
import { mintHs256 } from './jwt.js';

/**
 * One client process of the fan-out benchmark (forked by fanout/clients.ts for the `broadcast` scenario,
 * pinned with it to the load core). Holds its share of the sockets, speaks
 * just enough of protocol v1 to authenticate and subscribe, and records for
 * every event the time from publish (`data.t0`, set by the publisher on the
 * same machine's clock) to its arrival here.
 */
interface Sock {
  ws: WebSocket;
  lastSeq: number;
  pending: ((msg: Record<string, unknown>) => void) | undefined;
}

const socks: Sock[] = [];
const hist = new Histogram();
let received = 0;
let gaps = 0;
let closed = 0;
let codec = msgpackCodec;
let reqId = 0;

const now = () => performance.timeOrigin + performance.now();
const reply = (r: ClientReply): void => {
  process.send?.(r);
};

function onFrame(s: Sock, data: Buffer, isBinary: boolean): void {
  const msg = codec.decode(isBinary ? data : data.toString('utf8')) as Record<string, unknown>;
  if (msg.t === 'ev') {
    const seq = msg.seq as number;
    if (s.lastSeq >= 0 && seq !== s.lastSeq + 1) gaps++;
    s.lastSeq = seq;
    received++;
    hist.record(now() - (msg.data as { t0: number }).t0);
    return;
  }
  const p = s.pending;
  s.pending = undefined;
  p?.(msg);
}

function ask(s: Sock, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    s.pending = resolve;
    s.ws.send(codec.encode(msg as never));
  });
}

function open(c: Extract<ClientCommand, { cmd: 'connect' }>, i: number): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const protocols = c.mode === 'shutter' ? [codec.subprotocol] : [];
    const ws = new WebSocket(c.url, protocols, { localAddress: c.localAddress, perMessageDeflate: false });
    const s: Sock = { ws, lastSeq: -1, pending: undefined };
    let opened = false;
    ws.on('message', (data: Buffer, isBinary: boolean) => onFrame(s, data, isBinary));
    ws.on('error', (err) => {
      if (!opened) reject(err);
    });
    ws.on('close', () => {
      if (opened) closed++;
    });
    ws.on('open', () => {
      opened = true;
      if (c.mode === 'raw') return resolve(s);
      const token = mintHs256(c.secret, `${c.userPrefix}${i}`, 3600);
      ask(s, { t: 'hello', v: 1, token }).then((m) =>
        m.t === 'welcome' ? resolve(s) : reject(new Error(`hello answered ${JSON.stringify(m)}`)),
      );
    });
  });
}

/** Runs `task(i)` for i < count with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<{ ok: number; failed: number; firstError?: string }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
        ok++;
      } catch (e) {
        failed++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return firstError === undefined ? { ok, failed } : { ok, failed, firstError };
}

async function handle(c: ClientCommand): Promise<void> {
  switch (c.cmd) {
    case 'connect': {
      codec = c.codec === 'json' ? jsonCodec : msgpackCodec;
      const r = await pool(c.count, c.concurrency, async (i) => {
        socks.push(await open(c, i));
      });
      return reply({ ev: 'connected', ...r });
    }
    case 'subscribe': {
      const r = await pool(socks.length, c.concurrency, async (i) => {
        const s = socks[i]!;
        const m = await ask(s, { t: 'sub', id: ++reqId, stream: c.stream });
        if (m.t !== 'res') throw new Error(`sub answered ${JSON.stringify(m)}`);
      });
      return reply({ ev: 'subscribed', ...r });
    }
    case 'reset':
      hist.reset();
      received = 0;
      gaps = 0;
      for (const s of socks) s.lastSeq = -1;
      return reply({ ev: 'reset' });
    case 'report':
      return reply({ ev: 'report', received, gaps, closed, hist: hist.sparse() });
    case 'close':
      for (const s of socks) s.ws.terminate();
      reply({ ev: 'closed' });
      setTimeout(() => process.exit(0), 100);
      return;
    default: {
      const never: never = c;
      return never;
    }
  }
}

process.on('message', (c: ClientCommand) => {
  handle(c).catch((e: unknown) => {
    process.stderr.write(`client-worker: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
});
