import { createClient, type ShutterClient, watchPost } from '@shutter/client-sdk';
import { newId, type PostCountsEvent, postStream, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { insertBlock, insertFollow } from './fixtures/posts.js';
import { makeUser, type TestUser } from './fixtures/social.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * `post:<id>` on one node: who may watch a post (the rule every read of
 * posts goes by), and the SDK's `watchPost` against the real server: counts
 * as they change, the viewers count, and a view kept across several leases.
 */
const LEASE_MS = 1000;

describe('watching a post', () => {
  let node: ShutterNode;
  const clients: ShutterClient[] = [];
  const raws: RawClient[] = [];
  beforeAll(async () => {
    node = await startTestNode('ws', { POST_VIEW_LEASE_MS: String(LEASE_MS), LIVE_COUNTS_PER_SECOND: '10' });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const r of raws) r.close();
    await node?.shutdown();
  });

  async function post(author: TestUser): Promise<string> {
    const id = newId(shardOfId(author.id) as number);
    await node.db
      .forId(id)
      .query("INSERT INTO posts (id, author_id, media_ids) VALUES ($1, $2, '{}')", [id, author.id]);
    return id;
  }
  async function raw(user: TestUser): Promise<RawClient> {
    const c = await RawClient.open(wsUrl(node), user.token);
    raws.push(c);
    return c;
  }
  const sub = async (c: RawClient, stream: string) => {
    const r = await c.call({ t: 'sub', stream });
    return r.t === 'res' ? 'ok' : r.t === 'err' ? r.code : r.t;
  };

  it('only those who may see the post may watch it', async () => {
    const [author, secret, stranger, follower, blocked] = await Promise.all(
      [{}, { private: true }, {}, {}, {}].map((o) => makeUser(node, o)),
    );
    const open = await post(author!);
    const hidden = await post(secret!);
    await insertFollow(node, follower!.id, secret!.id);
    await insertBlock(node, author!.id, blocked!.id);
    const gone = await post(author!);
    await node.db.forId(gone).query('UPDATE posts SET deleted_at = now() WHERE id = $1', [gone]);

    const s = await raw(stranger!);
    expect(await sub(s, postStream(open))).toBe('ok');
    expect(await sub(s, postStream(hidden))).toBe('forbidden');
    expect(await sub(s, postStream(gone))).toBe('forbidden');
    expect(await sub(s, postStream(newId(shardOfId(author!.id) as number)))).toBe('forbidden');
    expect(await sub(s, 'post:not-an-id')).toBe('forbidden');
    expect(await sub(s, `post:${open}:extra`)).toBe('forbidden');
    expect(await sub(await raw(follower!), postStream(hidden))).toBe('ok');
    expect(await sub(await raw(secret!), postStream(hidden))).toBe('ok');
    expect(await sub(await raw(blocked!), postStream(open))).toBe('forbidden');
    for (const r of raws) r.close();
  });

  it('watchPost gets counts as they change and the viewers count, across several leases; leaving counts down', async () => {
    const author = await makeUser(node);
    const [ann, ben] = await Promise.all([makeUser(node), makeUser(node)]);
    const id = await post(author);
    const lapsed = node.gateway.counters.leasesLapsed;
    const connect = (u: TestUser) => {
      const c = createClient({
        url: wsUrl(node),
        getToken: () => devToken(node, u.id),
        WebSocket: WebSocket as never,
      });
      clients.push(c);
      c.connect();
      return c;
    };
    const seenByAnn: PostCountsEvent[] = [];
    const seenByBen: PostCountsEvent[] = [];
    watchPost(connect(ann), id, (c) => seenByAnn.push(c));
    const benView = watchPost(connect(ben), id, (c) => seenByBen.push(c));
    await until(
      () => seenByAnn.at(-1)?.viewers === 2 && seenByBen.at(-1)?.viewers === 2,
      5000,
      'two viewers',
    );

    // Three leases later both still count, the SDK renewing meanwhile.
    await sleep(3 * LEASE_MS);
    await node.db.forId(id).query('UPDATE posts SET like_count = 5, comment_count = 2 WHERE id = $1', [id]);
    await node.ports.events.emit({
      type: 'comment.created',
      commentId: newId(shardOfId(id) as number),
      postId: id,
      postAuthorId: author.id,
      authorId: ann.id,
      mentionIds: [],
      text: 'hi',
      createdAt: Date.now(),
    });
    const want = { type: 'counts', likes: 5, comments: 2, viewers: 2 };
    await until(() => seenByAnn.at(-1)?.likes === 5 && seenByBen.at(-1)?.likes === 5, 3000, 'the new counts');
    expect([seenByAnn.at(-1), seenByBen.at(-1)]).toEqual([want, want]);
    expect(node.gateway.counters.leasesLapsed).toBe(lapsed);

    await benView.unsubscribe();
    await until(() => seenByAnn.at(-1)?.viewers === 1, 3000, 'one viewer left');
    expect(seenByAnn.at(-1)).toEqual({ ...want, viewers: 1 });
  });
});
