import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { makePost } from './fixtures/posts.js';
import { http, makeUser } from './fixtures/social.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { startTestNode } from './helpers/test-node.js';
import { redisUrl } from './services.js';

const COMMAND_TIMEOUT_MS = 300;

/**
 * A node whose Redis stops answering (every byte through a proxy held, as
 * on a dead network): no request waits on it for longer than
 * REDIS_COMMAND_TIMEOUT_MS. Before the timeout, a feed page waited for ever
 * on the stored feed; now it comes from Postgres.
 */
describe('with Redis stalled', () => {
  let node: ShutterNode;
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await new TcpProxy(Number(new URL(redisUrl).port || 6379)).start();
    node = await startTestNode('ws', {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    });
  });
  afterAll(async () => {
    proxy.unstall();
    await node?.shutdown();
    await proxy?.close();
  });

  it('a feed page comes from the database, with the posts the stored feed holds', async () => {
    const reader = await makeUser(node);
    const author = await makeUser(node);
    expect((await http(node, reader, 'PUT', `/v1/users/${author.id}/follow`)).status).toBe(200);
    const first = await makePost(node, author, 'before the stall');
    const second = await makePost(node, author, 'also before');
    const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((p) => p.id);
    const before = await http(node, reader, 'GET', '/v1/feed?limit=10');
    expect(before.status).toBe(200);
    expect(ids(before)).toEqual([second, first]);

    proxy.stall();
    try {
      const t0 = performance.now();
      const during = await http(node, reader, 'GET', '/v1/feed?limit=10');
      const ms = performance.now() - t0;
      expect(during.status).toBe(200);
      expect(ids(during)).toEqual([second, first]);
      // One command timeout for the stored page, then Postgres; generous for a loaded machine.
      expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + 2000);
      // Paging holds: page one, then the rest from its cursor.
      const one = await http(node, reader, 'GET', '/v1/feed?limit=1');
      expect(ids(one)).toEqual([second]);
      const two = await http(node, reader, 'GET', `/v1/feed?limit=1&cursor=${one.body.nextCursor}`);
      expect(ids(two)).toEqual([first]);
    } finally {
      proxy.unstall();
      proxy.cut();
    }
  });
});
