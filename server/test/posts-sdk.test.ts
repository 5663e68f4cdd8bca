import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { newId, ShutterError, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { insertMedia, postState } from './fixtures/posts.js';
import { makeUser } from './fixtures/social.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';

/** The posts methods over the socket, typed by the SDK (`client.api.posts.*`): the same operations as HTTP. */
describe('posts through the SDK on the socket', () => {
  let node: ShutterNode;
  const clients: ShutterClient[] = [];
  beforeAll(async () => {
    node = await startTestNode('uws');
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await node?.shutdown();
  });
  const connect = (userId: string) => {
    const c = createClient({
      url: wsUrl(node),
      getToken: () => devToken(node, userId),
      WebSocket: WebSocket as never,
    });
    clients.push(c);
    c.connect();
    return c;
  };

  it('creates with a client id (a resend is a no-op), reads, lists and deletes; refusals carry their codes', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const a = connect(alice.id);
    const b = connect(bob.id);
    const media = await insertMedia(node, alice.id);
    const id = newId(shardOfId(alice.id) as number);
    const params = { id, mediaIds: [media], caption: 'from the socket #sdk' };
    const { post } = await a.api.posts.create(params);
    expect(post).toMatchObject({ id, hashtags: ['sdk'], author: { id: alice.id } });
    expect((await a.api.posts.create(params)).post).toEqual(post);
    expect((await b.api.posts.get({ id })).post.id).toBe(id);
    const page = await b.api.posts.list({ id: alice.id, limit: 10 });
    expect([page.items.map((p) => p.id), page.nextCursor]).toEqual([[id], null]);

    const refused = await b.api.posts.create({ mediaIds: [media] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShutterError);
    expect((refused as ShutterError).code).toBe('media_not_owned');
    const badCursor = await b.api.posts.list({ id: alice.id, cursor: 'xyz' }).catch((e: unknown) => e);
    expect((badCursor as ShutterError).code).toBe('invalid_cursor');
    expect(((await b.api.posts.delete({ id }).catch((e: unknown) => e)) as ShutterError).code).toBe(
      'forbidden',
    );

    expect(await a.api.posts.delete({ id })).toEqual({ id, deleted: true });
    expect(((await b.api.posts.get({ id }).catch((e: unknown) => e)) as ShutterError).code).toBe('not_found');
    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: 1, live: 0 });
  });
});
