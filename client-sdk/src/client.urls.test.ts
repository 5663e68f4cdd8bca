import { afterEach, describe, expect, it } from 'vitest';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { until } from './testing/wait.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  disconnectAll();
  for (const s of servers.splice(0)) await s.close();
});

describe('several endpoints', () => {
  it('a node that sends its sockets away (going_away) is left for the next; a node that is gone too', async () => {
    const a = await FakeServer.start();
    const b = await FakeServer.start();
    servers.push(a, b);
    const { client } = testClient(a, { url: [a.url, b.url] });
    client.connect();
    await client.ready(3000);
    const first = await a.connection(0);
    // The node drains: 4001 going_away. The client resumes on the other node.
    first.close(4001, 'going_away');
    const onB = await b.connection(0);
    expect(onB.isOpen).toBe(true);
    await until(() => client.state === 'connected');
    // That node dies without a word; the first is back: the client goes round to it.
    onB.terminate();
    const again = await a.connection(1);
    expect(again.isOpen).toBe(true);
    await until(() => client.state === 'connected');
  });

  it('refuses an empty list and a list with a URL that is not ws(s)', () => {
    expect(() => testClient({ url: 'ws://127.0.0.1:1/ws' } as FakeServer, { url: [] })).toThrow(
      /at least one/,
    );
    expect(() =>
      testClient({ url: 'ws://127.0.0.1:1/ws' } as FakeServer, {
        url: ['ws://127.0.0.1:1/ws', 'http://x/ws'],
      }),
    ).toThrow(/ws:\/\/ or wss:\/\//);
  });
});
