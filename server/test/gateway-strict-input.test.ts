import { CloseCode, msgpackCodec, type ServerMessage } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../protocol/scripts/examples.js';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

/** Issue 7: what a frame may hold (strings, keys, bytes) and how a refusal is told. */
describe.each(TRANSPORTS)('strict frames on %s', (transport) => {
  let node: ShutterNode;
  let url: string;
  const clients: RawClient[] = [];
  const open = async (user: string, codec: 'json' | 'msgpack') => {
    const c = await RawClient.open(url, await devToken(node, user), codec);
    clients.push(c);
    return c;
  };
  /** The first err, res or pong from `from` on. */
  const answer = (c: RawClient, from: number) =>
    c.next((m) => m.t === 'err' || m.t === 'res' || m.t === 'pong', 5000, from);

  beforeAll(async () => {
    node = await startTestNode(transport, { MAX_BAD_FRAMES: '4' });
    url = wsUrl(node);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.shutdown();
  });

  it('a counter named with a lone surrogate (JSON) or holding NUL (msgpack) is bad_request, and the socket keeps serving', async () => {
    const json = await open('poison-json', 'json');
    let from = json.messages.length;
    json.sendRaw('{"t":"req","id":41,"method":"system.increment","params":{"counter":"\\ud800","by":1}}');
    expect(await answer(json, from)).toMatchObject({
      t: 'err',
      id: 41,
      code: 'bad_request',
      details: { badFrame: true },
    });
    from = json.messages.length;
    json.sendRaw('{"t":"req","id":42,"method":"system.increment","params":{"counter":"a\\u0000","by":1}}');
    expect(await answer(json, from)).toMatchObject({ t: 'err', id: 42, code: 'bad_request' });
    expect(
      await json.call({ t: 'req', method: 'system.increment', params: { counter: 'clean', by: 2 } }),
    ).toMatchObject({ t: 'res', result: { counter: 'clean', value: 2 } });

    const mp = await open('poison-msgpack', 'msgpack');
    from = mp.messages.length;
    mp.sendRaw(
      msgpackCodec.encode({
        t: 'req',
        id: 43,
        method: 'system.increment',
        params: { counter: 'a\u0000b', by: 1 },
      }) as Uint8Array,
    );
    expect(await answer(mp, from)).toMatchObject({
      t: 'err',
      id: 43,
      code: 'bad_request',
      details: { badFrame: true },
    });
    expect(
      await mp.call({ t: 'req', method: 'system.increment', params: { counter: 'clean', by: 3 } }),
    ).toMatchObject({ t: 'res', result: { value: 3 } });
  });

  it('an undecodable msgpack byte (0xc1) and invalid UTF-8 in a msgpack string are bad_frame', async () => {
    const mp = await open('c1', 'msgpack');
    for (const bytes of [[0xc1], [0x81, 0xa1, 0x74, 0xc1], [0x81, 0xa1, 0x74, 0xa3, 0xed, 0xa0, 0x80]]) {
      const from = mp.messages.length;
      mp.sendRaw(Uint8Array.from(bytes));
      const err = await answer(mp, from);
      expect(err, bytes.join(' ')).toMatchObject({
        t: 'err',
        code: 'bad_frame',
        details: { badFrame: true },
      });
      expect(err).not.toHaveProperty('id');
    }
  });

  it('a key twice in one map is refused on both codecs: a request with two ids is answered under neither', async () => {
    const json = await open('dup-json', 'json');
    let from = json.messages.length;
    json.sendRaw('{"t":"req","id":51,"method":"system.echo","params":{"text":"a"},"id":52}');
    const err = await answer(json, from);
    expect(err).toMatchObject({ t: 'err', code: 'bad_frame', details: { badFrame: true } });
    expect(err).not.toHaveProperty('id');
    from = json.messages.length;
    json.sendRaw('{"t":"req","id":53,"method":"system.echo","params":{"text":"a","text":"b"}}');
    expect(await answer(json, from)).toMatchObject({ t: 'err', code: 'bad_frame' });
    json.send({ t: 'ping' });
    await json.next((m) => m.t === 'pong');
    const answered = (id: number) => json.messages.some((m) => 'id' in m && m.id === id);
    expect([51, 52, 53].filter(answered)).toEqual([]);

    const mp = await open('dup-msgpack', 'msgpack');
    from = mp.messages.length;
    // {"t":"ping","t":"ping"}
    mp.sendRaw(
      Uint8Array.from([
        0x82, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67,
      ]),
    );
    expect(await answer(mp, from)).toMatchObject({ t: 'err', code: 'bad_frame' });
  });

  it('params: null is refused like any other non-object value, as a method error (not a bad frame)', async () => {
    const json = await open('null-params', 'json');
    const from = json.messages.length;
    json.sendRaw('{"t":"req","id":61,"method":"system.echo","params":null}');
    const err = (await answer(json, from)) as Extract<ServerMessage, { t: 'err' }>;
    expect(err).toMatchObject({ t: 'err', id: 61, code: 'bad_request' });
    // It is null that was refused, not an empty object missing `text`.
    expect(err.message).toMatch(/^params\/: Expected object/);
    expect(err).not.toHaveProperty('details');
  });

  it('only bad frames carry details.badFrame, and only they close the socket with 4400', async () => {
    const c = await open('counting', 'json');
    // Params that fail the method's schema: answered, never counted.
    for (let i = 0; i < 6; i++) {
      const r = await c.call({ t: 'req', method: 'system.echo', params: { nope: i } as never });
      expect(r).toMatchObject({ t: 'err', code: 'bad_request' });
      expect(r).not.toHaveProperty('details');
    }
    // Frames that are not valid messages: counted; the fourth (MAX_BAD_FRAMES) closes.
    for (let i = 0; i < 4; i++) {
      const from = c.messages.length;
      c.sendRaw(`{"t":"req","id":${70 + i},"method":"system.echo","params":{"text":"x"},"extra":1}`);
      expect(await answer(c, from)).toMatchObject({
        t: 'err',
        id: 70 + i,
        code: 'bad_request',
        details: { badFrame: true },
      });
    }
    expect((await c.waitClosed()).code).toBe(CloseCode.protocol_error.code);
  });
});

describe('strict JSON bodies and 405 on HTTP', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('ws');
  });
  afterAll(async () => {
    await node.shutdown();
  });
  const post = (path: string, body: string | Buffer) =>
    fetch(`${node.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    });

  it.each([
    ['a lone surrogate in data', '{"stream":"topic:strict","data":{"a":"\\ud800"}}'],
    ['NUL in a key of data', '{"stream":"topic:strict","data":{"a\\u0000":1}}'],
    ['a key twice', '{"stream":"topic:strict","data":1,"data":2}'],
  ])('admin publish refuses %s with 400 bad_request', async (_what, body) => {
    const r = await post('/v1/admin/publish', body);
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('admin publish takes a clean body, non-ASCII and emoji included', async () => {
    const r = await post(
      '/v1/admin/publish',
      '{"stream":"topic:strict","data":{"caption":"h\\u00e9 \\ud83d\\udcf7 📷"}}',
    );
    expect(r.status).toBe(200);
  });

  it('dev token refuses a key twice and invalid UTF-8, and a body past 4096 bytes with 413', async () => {
    const dup = await post('/v1/dev/token', '{"user":"alice","user":"bob"}');
    expect(dup.status).toBe(400);
    const bad = await post(
      '/v1/dev/token',
      Buffer.from([...Buffer.from('{"user":"al'), 0xff, ...Buffer.from('"}')]),
    );
    expect(bad.status).toBe(400);
    const big = await post('/v1/dev/token', JSON.stringify({ user: 'a', pad: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('405 names the allowed methods in Allow', async () => {
    const get = await fetch(`${node.url}/v1/dev/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toMatchObject({ error: { code: 'bad_request' } });
    const del = await fetch(`${node.url}/healthz`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('the err frame of protocol.md §14.7', () => {
  it('is byte for byte what the server sends for a request refused by the per-user rate limit', async () => {
    const node = await startTestNode('ws', { RATE_USER_PER_SEC: '100', RATE_USER_BURST: '1' });
    try {
      const c = await RawClient.open(wsUrl(node), await devToken(node, 'limited'), 'json');
      const raw: string[] = [];
      c.ws.on('message', (data: Buffer) => raw.push(data.toString('utf8')));
      const example = EXAMPLES.find((e) => e.name === 'err-json')!.message as { id: number };
      c.send({ t: 'req', id: example.id - 1, method: 'system.echo', params: { text: 'x' } });
      c.send({ t: 'req', id: example.id, method: 'system.echo', params: { text: 'x' } });
      const err = await c.next((m) => m.t === 'err' && m.id === example.id);
      expect(err).toMatchObject({ code: 'rate_limited' });
      const sent = raw.find((r) => r.includes('"rate_limited"'))!;
      // Only the wait differs: the time until the next token (≤ 10 ms at 100/s, as in the example).
      expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1);
      expect((err as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(10);
      expect(sent.replace(/"retryAfterMs":\d+/, '"retryAfterMs":10')).toBe(JSON.stringify(example));
      c.close();
    } finally {
      await node.shutdown();
    }
  });
});

describe('token expiry timing of protocol.md §8', () => {
  it('closes an expired connection after expiresAt, within the 1 s sweep (plus slack for a loaded machine)', async () => {
    const node = await startTestNode('ws');
    try {
      const lateness: number[] = [];
      await Promise.all(
        [1, 2, 3, 4].map(async (i) => {
          const minted = await node.minter!.mint(`expiring-${i}`, 2);
          const c = await RawClient.open(wsUrl(node), minted.token, 'json');
          const closedAt = new Promise<number>((r) => c.ws.once('close', () => r(Date.now())));
          const closed = await c.waitClosed(6000);
          expect(closed.code).toBe(CloseCode.token_expired.code);
          expect(c.messages.some((m) => m.t === 'err' && m.code === 'token_expired')).toBe(true);
          lateness.push((await closedAt) - minted.expiresAt);
        }),
      );
      console.log(`token expiry: closed ${lateness.sort((a, b) => a - b).join(', ')} ms after expiresAt`);
      for (const ms of lateness) {
        expect(ms).toBeGreaterThanOrEqual(0);
        // The sweep runs once a second; 1 s more covers timer and event-loop delay on a busy machine.
        expect(ms).toBeLessThanOrEqual(2000);
      }
    } finally {
      await node.shutdown();
    }
  });
});
