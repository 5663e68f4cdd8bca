import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { seededRandom } from '../src/testing/seeded-random.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

const N = 10_000;

const valid = [
  { t: 'req', id: 1, method: 'system.echo', params: { text: 'x' } },
  { t: 'sub', id: 2, stream: 'topic:a', from: { epoch: 'e', seq: 1 } },
  { t: 'unsub', id: 3, stream: 'topic:a' },
  { t: 'auth', id: 4, token: 'abc' },
  { t: 'ping' },
];
const junk: unknown[] = [
  null,
  true,
  -1,
  1.5,
  2 ** 53,
  '',
  'x'.repeat(300),
  [],
  [1, 2],
  {},
  { a: { b: { c: [] } } },
  '__proto__',
];

/** Mutations that always leave the frame invalid: wrong types, unknown fields, unknown types, non-objects. */
function wrongFrame(r: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const base = structuredClone(pick(valid)) as Record<string, unknown>;
  switch (Math.floor(r() * 6)) {
    case 0:
      return pick(junk);
    case 1:
      base.t = pick(['', 'REQ', 'hello2', 'ev', 'welcome', 7, null]);
      return base;
    case 2:
      // defineProperty, so '__proto__' becomes an own key on the wire, not a prototype.
      Object.defineProperty(base, pick(['extra', '__proto__', 'constructor', 'x']), {
        value: pick(junk),
        enumerable: true,
        writable: true,
      });
      return base;
    case 3: {
      const keys = Object.keys(base).filter((k) => k !== 't');
      if (keys.length === 0) return [base];
      base[pick(keys)] = pick([null, -5, [], { deep: 1 }, 2 ** 40]);
      return base;
    }
    case 4:
      return {
        t: 'sub',
        id: 1 + Math.floor(r() * 100),
        stream: pick(['', 'UPPER:x', 'a', 'a:b:c:d:e', `x:${'y'.repeat(300)}`]),
      };
    default: {
      let v: unknown = base;
      for (let i = 0; i < 50 + Math.floor(r() * 500); i++) v = [v];
      return v;
    }
  }
}

describe.each(TRANSPORTS)('gateway under hostile input on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport, {
      MAX_BAD_FRAMES: String(N * 2),
      // The client sends all N frames before it reads a reply, and the node may read and answer
      // them all in one go: the replies must fit the send queue whatever the kernel's loopback
      // buffers hold at the time (CI cut the fuzzer as a slow consumer at the default 1 MiB).
      SEND_BUFFER_BYTES: String(64 * 1024 * 1024),
      RATE_USER_PER_SEC: '1000000',
      RATE_USER_BURST: '1000000',
      RATE_CONNECTION_PER_SEC: '1000000',
      RATE_CONNECTION_BURST: '1000000',
    });
  });
  afterAll(async () => node.shutdown());

  const expectAllAnswered = async (c: RawClient, sent: number) => {
    await c.next(() => c.messages.length >= sent, 60_000);
    const codes = new Set(c.messages.map((m) => (m.t === 'err' ? m.code : m.t)));
    expect(c.messages).toHaveLength(sent);
    expect([...codes].filter((x) => !['bad_frame', 'bad_request'].includes(x))).toEqual([]);
  };

  it(`answers ${N} random byte strings each with an error and keeps serving`, async () => {
    const c = await RawClient.open(wsUrl(node), await devToken(node, 'fuzzer'), 'msgpack');
    c.messages.length = 0;
    for (let i = 0; i < N; i++) c.sendRaw(randomBytes(1 + (i % 200)));
    await expectAllAnswered(c, N);
    expect(await c.call({ t: 'req', method: 'system.echo', params: { text: 'alive' } })).toMatchObject({
      t: 'res',
    });
    c.close();
  });

  it(`answers ${N} structurally wrong frames on each codec and keeps serving`, async () => {
    for (const codec of ['json', 'msgpack'] as const) {
      const r = seededRandom(codec === 'json' ? 1 : 2);
      const c = await RawClient.open(wsUrl(node), await devToken(node, `fuzzer-${codec}`), codec);
      c.messages.length = 0;
      const packr = new Packr({ useRecords: false });
      for (let i = 0; i < N; i++) {
        const f = wrongFrame(r);
        c.sendRaw(codec === 'json' ? (JSON.stringify(f) ?? 'undefined') : packr.pack(f));
      }
      await expectAllAnswered(c, N);
      expect(await c.call({ t: 'req', method: 'system.echo', params: { text: 'alive' } })).toMatchObject({
        t: 'res',
      });
      c.close();
    }
  });

  it('refuses garbage before hello by closing, and a new client is served afterwards', async () => {
    for (let i = 0; i < 50; i++) {
      const c = await RawClient.connect(wsUrl(node), i % 2 ? 'json' : 'msgpack');
      c.sendRaw(randomBytes(64));
      await c.waitClosed();
    }
    const ok = await RawClient.open(wsUrl(node), await devToken(node, 'after'), 'json');
    expect(await ok.call({ t: 'req', method: 'system.echo', params: { text: 'ok' } })).toMatchObject({
      t: 'res',
    });
    ok.close();
  });
});
