import { performance } from 'node:perf_hooks';
import { jsonCodec, msgpackCodec } from '@shutter/protocol';
import WebSocket from 'ws';
import { Histogram } from './histogram.js';
import type { ClientCommand, ClientReply } from './ipc.js';
import { mintHs256 } from './jwt.js';
import { LeanSocket } from './lean-ws.js';
import { fastreadBinary, NativeReader } from './native-reader.js';

/**
 * One client process of the fan-out benchmark (forked by fanout/clients.ts for the `broadcast` scenario,
 * pinned with it to the load core). Holds its share of the sockets, speaks
 * just enough of protocol v1 to authenticate and subscribe, counts every
 * event and records, for every event it decodes, the time from publish
 * (`data.t0`, set by the publisher on the same machine's clock) to its
 * arrival here. With `ws` it decodes every frame; the lean client
 * (lean-ws.ts) decodes every `sampleEvery`-th per socket, and checks that
 * the seqs of two samples differ by the frames counted between them (none
 * lost, none twice, in order).
 */
interface Sock {
  send(data: string | Uint8Array): void;
  terminate(): void;
  /** Events since reset; the seq and index (in `frames`) of the last one decoded (lean: sampled). */
  frames: number;
  lastSeq: number;
  lastAt: number;
  pending: ((msg: Record<string, unknown>) => void) | undefined;
  lean: LeanSocket | undefined;
}

const socks: Sock[] = [];
const hist = new Histogram();
let received = 0;
let sampled = 0;
let gaps = 0;
let closed = 0;
let codec = msgpackCodec;
let reqId = 0;
let sampleEvery = 1;
let cpu0 = process.cpuUsage();
let kind: Connect['client'] = 'lean';
let mode: Connect['mode'] = 'shutter';
/** With `native`: the reader the sockets were handed to at the first reset. */
let reader: NativeReader | undefined;
let binary = '';

const now = () => performance.timeOrigin + performance.now();
const reply = (r: ClientReply): void => {
  process.send?.(r);
};

/** A decoded event, the `index`-th since reset: timed, and its seq checked against the frames counted since the last. */
function onEvent(s: Sock, msg: Record<string, unknown>, index: number, at: number): void {
  const seq = msg.seq as number;
  if (s.lastSeq >= 0 && seq - s.lastSeq !== index - s.lastAt) gaps++;
  s.lastSeq = seq;
  s.lastAt = index;
  sampled++;
  hist.record(at - (msg.data as { t0: number }).t0);
}

/**
 * A frame's payload as a message. Shutter and raw targets: the codec's
 * (JSON text or msgpack). Socket.IO (Engine.IO v4 text packets): `0{…}` the
 * transport's open, `40{…}` the namespace's connect, `42["ev",{…}]` an
 * event, whose `{…}` is the same envelope the others carry.
 */
function decodeFrame(payload: Buffer, binary: boolean): Record<string, unknown> {
  if (mode !== 'socketio')
    return codec.decode(binary ? payload : payload.toString('utf8')) as Record<string, unknown>;
  const text = payload.toString('utf8');
  if (text.startsWith('42')) return (JSON.parse(text.slice(2)) as [string, Record<string, unknown>])[1];
  if (text.startsWith('40')) return { t: 'sio-connect', body: text.slice(2) };
  if (text.startsWith('44')) return { t: 'sio-connect-error', body: text.slice(2) };
  if (text.startsWith('0')) return { t: 'eio-open', body: text.slice(1) };
  return { t: 'eio-other', body: text };
}

function onMessage(s: Sock, msg: Record<string, unknown>): void {
  if (msg.t === 'ev') {
    onEvent(s, msg, s.frames, now());
    s.frames++;
    received++;
    return;
  }
  const p = s.pending;
  s.pending = undefined;
  p?.(msg);
}

function ask(s: Sock, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    s.pending = resolve;
    s.send(codec.encode(msg as never));
  });
}

type Connect = Extract<ClientCommand, { cmd: 'connect' }>;

/** `ws`: every frame decoded. */
function openWs(c: Connect): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const protocols = c.mode === 'shutter' ? [codec.subprotocol] : [];
    const ws = new WebSocket(c.url, protocols, { localAddress: c.localAddress, perMessageDeflate: false });
    const s: Sock = {
      send: (d) => ws.send(d),
      terminate: () => ws.terminate(),
      frames: 0,
      lastSeq: -1,
      lastAt: 0,
      pending: undefined,
      lean: undefined,
    };
    let opened = false;
    ws.on('message', (data: Buffer, isBinary: boolean) =>
      onMessage(s, codec.decode(isBinary ? data : data.toString('utf8')) as Record<string, unknown>),
    );
    ws.on('error', (err) => {
      if (!opened) reject(err);
    });
    ws.on('close', () => {
      if (opened) closed++;
    });
    ws.on('open', () => {
      opened = true;
      resolve(s);
    });
  });
}

/**
 * Lean: frames counted, every `sampleEvery`-th event (and every answer while one is awaited) decoded.
 * `first` awaits the first message (Socket.IO's open packet may come with the upgrade's answer).
 */
async function openLean(c: Connect, first?: (msg: Record<string, unknown>) => void): Promise<Sock> {
  const s: Sock = {
    send: (d) => s.lean?.send(d),
    terminate: () => s.lean?.terminate(),
    frames: 0,
    lastSeq: -1,
    lastAt: 0,
    pending: first,
    lean: undefined,
  };
  let opened = false;
  s.lean = await LeanSocket.open(c.url, c.mode === 'shutter' ? [codec.subprotocol] : [], c.localAddress, {
    wantPayload: () => s.pending !== undefined || s.frames % sampleEvery === 0,
    onFrame: (opcode, payload) => {
      if (payload) return onMessage(s, decodeFrame(payload, opcode === 2));
      s.frames++;
      received++;
    },
    onClose: () => {
      if (opened) closed++;
    },
    engineIo: c.mode === 'socketio',
  });
  opened = true;
  return s;
}

/** Socket.IO: the transport's open packet, then the connect to the default namespace (`40` → `40{sid}`). */
async function openSocketIo(c: Connect): Promise<Sock> {
  let onOpen: (msg: Record<string, unknown>) => void = () => undefined;
  const opened = new Promise<Record<string, unknown>>((r) => (onOpen = r));
  const s = await openLean(c, onOpen);
  const o = await withTimeout(opened, 'the Engine.IO open packet');
  if (o.t !== 'eio-open') throw new Error(`socket.io opened with ${JSON.stringify(o)}`);
  const m = await withTimeout(
    new Promise<Record<string, unknown>>((resolve) => {
      s.pending = resolve;
      s.send('40');
    }),
    'the namespace connect',
  );
  if (m.t !== 'sio-connect') throw new Error(`socket.io connect answered ${JSON.stringify(m)}`);
  return s;
}

function withTimeout<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function open(c: Connect, i: number): Promise<Sock> {
  if (c.mode === 'socketio') {
    if (c.client === 'ws') throw new Error('socket.io targets are read by the lean or native client');
    return openSocketIo(c);
  }
  const s = await (c.client === 'ws' ? openWs(c) : openLean(c));
  if (c.mode === 'raw') return s;
  const token = mintHs256(c.secret, `${c.userPrefix}${i}`, 3600);
  const m = await ask(s, { t: 'hello', v: 1, token });
  if (m.t !== 'welcome') throw new Error(`hello answered ${JSON.stringify(m)}`);
  return s;
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
      kind = c.client;
      mode = c.mode;
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
      sampled = 0;
      gaps = 0;
      sampleEvery = Math.max(1, c.sampleEvery);
      for (const s of socks) {
        s.frames = 0;
        s.lastSeq = -1;
        s.lastAt = 0;
        if (s.lean) s.lean.reads = 0;
      }
      if (kind === 'native' && !reader) {
        try {
          binary = fastreadBinary();
        } catch (e) {
          process.stderr.write(
            `client-worker: no fastread (${String(e)}); reading in Node (--client lean)\n`,
          );
          kind = 'lean';
        }
      }
      if (kind === 'native') {
        // Quiet now (connected and subscribed, nothing published): hand the sockets over.
        reader ??= new NativeReader(
          binary,
          socks.map((s) => s.lean!.socket),
          (i, index, at, payload) => {
            const s = socks[i]!;
            // Text frames: JSON (Shutter, raw) or Engine.IO packets (Socket.IO); binary ones: msgpack.
            const text = payload[0] === 0x7b || mode === 'socketio';
            const msg = decodeFrame(payload, !text);
            if (msg.t === 'ev') onEvent(s, msg, index, at);
          },
          mode === 'socketio',
        );
        await reader.reset(sampleEvery);
      }
      cpu0 = process.cpuUsage();
      return reply({ ev: 'reset' });
    case 'report': {
      const cpu = process.cpuUsage(cpu0);
      let reads = 0;
      let cpuSeconds = (cpu.user + cpu.system) / 1e6;
      let all = received;
      let shut = closed;
      if (reader) {
        const r = await reader.report();
        reads = r.reads;
        cpuSeconds += r.cpuSeconds;
        all = r.frames;
        shut = r.closed;
      } else for (const s of socks) reads += s.lean?.reads ?? 0;
      return reply({
        ev: 'report',
        received: all,
        sampled,
        gaps,
        closed: shut,
        hist: hist.sparse(),
        reads,
        cpuSeconds,
      });
    }
    case 'close':
      reader?.close();
      for (const s of socks) s.terminate();
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
