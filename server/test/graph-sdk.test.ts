import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { newId, type ShutterError } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { makeUser } from './fixtures/social.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';

/** The graph methods over the socket, typed by the SDK (`client.api.graph.*`): the same operations as HTTP. */
describe('follow graph through the SDK on the socket', () => {
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
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e as ShutterError).code,
    );

  it('follows, requests, approves, lists and blocks; refusals carry their codes', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node, { private: true });
    const a = connect(alice.id);
    const b = connect(bob.id);

    expect(await a.api.graph.follow({ id: bob.id })).toEqual({ userId: bob.id, state: 'pending' });
    expect((await b.api.graph.requests({})).items.map((u) => u.id)).toEqual([alice.id]);
    expect(await b.api.graph.approve({ id: alice.id })).toEqual({ userId: alice.id, state: 'active' });
    const page = await a.api.graph.followers({ id: bob.id, limit: 5 });
    expect([page.items.map((u) => u.username), page.nextCursor]).toEqual([[alice.username], null]);
    expect(await a.api.graph.relation({ id: bob.id })).toEqual({
      userId: bob.id,
      following: 'active',
      followedBy: 'none',
      blocking: false,
      blockedBy: false,
    });

    expect(await code(a.api.graph.follow({ id: alice.id }))).toBe('cannot_follow_self');
    expect(await code(a.api.graph.follow({ id: newId(1) }))).toBe('not_found');
    expect(await code(a.api.graph.follow({ id: 'bob' }))).toBe('bad_request');
    expect(await code(a.api.graph.following({ id: bob.id, cursor: '!!' }))).toBe('invalid_cursor');

    expect(await b.api.graph.block({ id: alice.id })).toEqual({ userId: alice.id, blocking: true });
    expect(await code(a.api.graph.follow({ id: bob.id }))).toBe('blocked');
    expect(await code(a.api.graph.followers({ id: bob.id }))).toBe('blocked');
    expect((await b.api.graph.followers({ id: bob.id })).items).toEqual([]);
  });
});
