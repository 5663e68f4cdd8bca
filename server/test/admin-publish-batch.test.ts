import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

// Issue 12 §2: the admin publish API takes a batch; its events keep the
// stream's order and seqs and reach a subscriber as the separate `ev`
// frames of the wire contract.

describe.each(TRANSPORTS)('admin publish of a batch (%s)', (transport) => {
  let node: ShutterNode;
  const publish = (body: unknown) =>
    fetch(`${node.url}/v1/admin/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    node = await startTestNode(transport);
  });
  afterAll(async () => {
    await node.shutdown();
  });

  it('gives a stream’s events consecutive seqs in the batch’s order and delivers each as its own ev frame', async () => {
    const c = await RawClient.open(wsUrl(node), await devToken(node, 'alice'));
    const other = await RawClient.open(wsUrl(node), await devToken(node, 'bob'));
    const a = await c.call({ t: 'sub', stream: 'topic:batch-a' });
    await other.call({ t: 'sub', stream: 'topic:batch-b' });
    expect(a).toMatchObject({ t: 'res', result: { seq: 0 } });
    const single = await publish({ stream: 'topic:batch-a', data: { n: 0 } });
    expect(await single.json()).toMatchObject({ seq: 1 });
    const r = await publish({
      events: [
        { stream: 'topic:batch-a', data: { n: 1 } },
        { stream: 'topic:batch-b', data: { n: 1 } },
        { stream: 'topic:batch-a', data: { n: 2 } },
        { stream: 'topic:batch-a', data: { n: 3 } },
      ],
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { events: { stream: string; epoch: string; seq: number }[] };
    expect(body.events.map((e) => [e.stream, e.seq])).toEqual([
      ['topic:batch-a', 2],
      ['topic:batch-b', 1],
      ['topic:batch-a', 3],
      ['topic:batch-a', 4],
    ]);
    await c.next((m) => m.t === 'ev' && m.seq === 4);
    await other.next((m) => m.t === 'ev' && m.seq === 1);
    expect(c.events().map((e) => [e.stream, e.seq, e.data])).toEqual([
      ['topic:batch-a', 1, { n: 0 }],
      ['topic:batch-a', 2, { n: 1 }],
      ['topic:batch-a', 3, { n: 2 }],
      ['topic:batch-a', 4, { n: 3 }],
    ]);
    expect(other.events().map((e) => [e.stream, e.seq, e.data])).toEqual([['topic:batch-b', 1, { n: 1 }]]);
    // A client resuming after the batch gets it from the history, in order.
    const late = await RawClient.open(wsUrl(node), await devToken(node, 'carol'));
    const resumed = await late.call({
      t: 'sub',
      stream: 'topic:batch-a',
      from: { epoch: body.events[0]!.epoch, seq: 1 },
    });
    expect(resumed).toMatchObject({ t: 'res', result: { status: 'recovered', missed: 3 } });
    await late.next((m) => m.t === 'ev' && m.seq === 4);
    expect(late.events().map((e) => e.seq)).toEqual([2, 3, 4]);
    for (const x of [c, other, late]) x.close();
  });

  it.each([
    ['an empty batch', { events: [] }, 'bad_request', 'events must be an array of 1 to 1000 events'],
    [
      'a batch that is not an array',
      { events: { stream: 'topic:x', data: 1 } },
      'bad_request',
      'events must be',
    ],
    [
      'more than 1000 events',
      { events: Array.from({ length: 1001 }, () => ({ stream: 'topic:x', data: 1 })) },
      'bad_request',
      'events must be',
    ],
    [
      'a bad stream name in the batch',
      {
        events: [
          { stream: 'topic:x', data: 1 },
          { stream: 'no such grammar', data: 1 },
        ],
      },
      'invalid_stream',
      'events[1].stream',
    ],
    [
      'an event without data',
      { events: [{ stream: 'topic:x' }] },
      'bad_request',
      'events[0].data is required',
    ],
    ['an event that is not an object', { events: [42] }, 'bad_request', 'events[0] must be an object'],
  ])('refuses %s, publishing nothing', async (_what, body, code, message) => {
    const c = await RawClient.open(wsUrl(node), await devToken(node, 'dave'));
    await c.call({ t: 'sub', stream: 'topic:x' });
    const r = await publish(body);
    expect(r.status).toBe(400);
    const err = (await r.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe(code);
    expect(err.error.message).toContain(message);
    // Nothing of a refused batch was published: the next event is seq 1 of a fresh stream or follows the last one.
    const ok = (await (await publish({ stream: 'topic:x', data: 'after' })).json()) as { seq: number };
    await c.next((m) => m.t === 'ev' && m.seq === ok.seq);
    expect(c.events().map((e) => e.data)).toEqual(['after']);
    c.close();
  });
});
