import { newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * Followers and following lists: newest edge first, cursor-paginated and
 * stable while edges are added, hydrated user summaries, private accounts
 * and blocks respected, malformed cursors refused.
 */
let node: ShutterNode;

beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(async () => {
  await node?.shutdown();
});

const ids = (page: { items: { id: string }[] }) => page.items.map((u) => u.id);

async function follow(from: TestUser, to: TestUser): Promise<void> {
  const r = await http(node, from, 'PUT', `/v1/users/${to.id}/follow`);
  if (r.status !== 200) throw new Error(`follow: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Every page of a list, following nextCursor; `between` runs after each page. */
async function readAll(viewer: TestUser, path: string, limit: number, between?: () => Promise<void>) {
  const out: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `?limit=${limit}&cursor=${cursor}` : `?limit=${limit}`;
    const r = await http(node, viewer, 'GET', `${path}${q}`);
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeLessThanOrEqual(limit);
    out.push(...ids(r.body));
    cursor = r.body.nextCursor;
    pages++;
    await between?.();
  } while (cursor);
  return { ids: out, pages };
}

describe('followers and following', () => {
  it('pages newest first, and stays stable while new followers arrive', async () => {
    const star = await makeUser(node);
    const fans = await makeUsers(node, 23);
    for (const f of fans) await follow(f, star);
    const late: TestUser[] = [];
    const all = await readAll(star, `/v1/users/${star.id}/followers`, 10, async () => {
      const u = await makeUser(node);
      await follow(u, star);
      late.push(u);
    });
    expect(all.ids).toEqual(fans.map((f) => f.id).reverse());
    expect(all.pages).toBe(3);
    // The newcomers are on top of a fresh read.
    const fresh = await http(node, star, 'GET', `/v1/users/${star.id}/followers?limit=3`);
    expect(ids(fresh.body)).toEqual(late.map((u) => u.id).reverse());

    const following = await readAll(fans[0]!, `/v1/users/${fans[0]!.id}/following`, 5);
    expect(following.ids).toEqual([star.id]);
    const first = fresh.body.items[0];
    const u = late[late.length - 1]!;
    expect(first).toEqual({
      id: u.id,
      username: u.username,
      displayName: u.username.toUpperCase(),
      avatarMediaId: null,
      private: false,
    });
  });

  it('refuses a malformed cursor and an out-of-range limit', async () => {
    const a = await makeUser(node);
    for (const cursor of ['not*base64', Buffer.from('hello').toString('base64url'), 'A'.repeat(60)]) {
      const r = await http(node, a, 'GET', `/v1/users/${a.id}/followers?cursor=${cursor}`);
      expect([r.status, r.body.error.code], cursor).toEqual([400, 'invalid_cursor']);
    }
    const big = await http(node, a, 'GET', `/v1/users/${a.id}/following?limit=1000`);
    expect([big.status, big.body.error.code]).toEqual([400, 'bad_request']);
    const badId = await http(node, a, 'GET', '/v1/users/42/following');
    expect([badId.status, badId.body.error.code]).toEqual([400, 'bad_request']);
  });

  it("shows a private account's lists to itself and its active followers only", async () => {
    const owner = await makeUser(node, { private: true });
    const [friend, stranger, asker] = await makeUsers(node, 3);
    await follow(friend!, owner);
    await http(node, owner, 'POST', `/v1/me/follow-requests/${friend!.id}/approve`);
    await follow(asker!, owner); // pending
    for (const path of ['followers', 'following']) {
      for (const viewer of [stranger!, asker!]) {
        const r = await http(node, viewer, 'GET', `/v1/users/${owner.id}/${path}`);
        expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
      }
    }
    expect(ids((await http(node, friend!, 'GET', `/v1/users/${owner.id}/followers`)).body)).toEqual([
      friend!.id,
    ]);
    expect(ids((await http(node, owner, 'GET', `/v1/users/${owner.id}/followers`)).body)).toEqual([
      friend!.id,
    ]);
    const missing = await http(node, owner, 'GET', `/v1/users/${newId(5)}/followers`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
  });

  it('keeps blocked users out of lists and out of reading them', async () => {
    const [center, viewer, hidden, shown] = await makeUsers(node, 4);
    for (const u of [viewer!, hidden!, shown!]) await follow(u, center!);
    await http(node, viewer!, 'PUT', `/v1/users/${hidden!.id}/block`);
    // The viewer does not see the user it blocks in a third user's list; others still do.
    expect(ids((await http(node, viewer!, 'GET', `/v1/users/${center!.id}/followers`)).body)).toEqual([
      shown!.id,
      viewer!.id,
    ]);
    expect(ids((await http(node, shown!, 'GET', `/v1/users/${center!.id}/followers`)).body)).toEqual([
      shown!.id,
      hidden!.id,
      viewer!.id,
    ]);
    // The blocked user does not see the blocker either.
    expect(ids((await http(node, hidden!, 'GET', `/v1/users/${center!.id}/followers`)).body)).toEqual([
      shown!.id,
      hidden!.id,
    ]);
    // Neither reads the other's lists.
    for (const [a, b] of [
      [viewer!, hidden!],
      [hidden!, viewer!],
    ] as const) {
      const r = await http(node, a, 'GET', `/v1/users/${b.id}/following`);
      expect([r.status, r.body.error.code]).toEqual([403, 'blocked']);
    }
  });
});
