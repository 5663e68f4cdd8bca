import { newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * Follow, unfollow, requests and blocks through the HTTP front door of a
 * real node, on two databases (the test node's shards 0–511 and 512–1023):
 * where each side's row landed, counts, and bad input refused with its code
 * and nothing changed.
 */
let node: ShutterNode;

beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(async () => {
  await node?.shutdown();
});

async function rows(owner: string) {
  const r = await node.db
    .forId(owner)
    .query<{ dir: string; other_id: string; state: string; edge_id: string }>(
      'SELECT dir, other_id::text AS other_id, state, edge_id::text AS edge_id FROM follows WHERE user_id = $1 ORDER BY dir',
      [owner],
    );
  return r.rows;
}

async function counts(id: string) {
  const r = await node.db
    .forId(id)
    .query<{ follower_count: number; following_count: number }>(
      'SELECT follower_count, following_count FROM users WHERE id = $1',
      [id],
    );
  return { followers: r.rows[0]?.follower_count, following: r.rows[0]?.following_count };
}

/** Every follows and blocks row of these users, in their databases: what "nothing changed" compares. */
async function snapshot(...users: TestUser[]) {
  const out: unknown[] = [];
  for (const u of users) {
    const sql = node.db.forId(u.id);
    const b = await sql.query(
      'SELECT dir, other_id::text FROM blocks WHERE user_id = $1 ORDER BY dir, other_id',
      [u.id],
    );
    out.push(u.id, await rows(u.id), b.rows, await counts(u.id));
  }
  return out;
}

describe('follow and unfollow', () => {
  it('writes the out row in the follower database and the in row in the followee database, once', async () => {
    const a = await makeUser(node, { shard: shardIn(node, 0) });
    const b = await makeUser(node, { shard: shardIn(node, node.db.all.length - 1) });
    expect(node.db.all.length).toBe(2);
    expect(node.db.forId(a.id)).not.toBe(node.db.forId(b.id));

    const first = await http(node, a, 'PUT', `/v1/users/${b.id}/follow`);
    expect(first).toEqual({ status: 200, body: { userId: b.id, state: 'active' } });
    const again = await http(node, a, 'PUT', `/v1/users/${b.id}/follow`);
    expect(again).toEqual(first);

    const out = await rows(a.id);
    const inn = await rows(b.id);
    expect(out).toEqual([{ dir: 'out', other_id: b.id, state: 'active', edge_id: expect.any(String) }]);
    expect(inn).toEqual([{ dir: 'in', other_id: a.id, state: 'active', edge_id: out[0]!.edge_id }]);
    // Neither database holds the other side's row.
    const stray = await node.db.forId(b.id).query('SELECT 1 FROM follows WHERE user_id = $1', [a.id]);
    expect(stray.rowCount).toBe(0);
    expect(await counts(a.id)).toEqual({ followers: 0, following: 1 });
    expect(await counts(b.id)).toEqual({ followers: 1, following: 0 });

    const gone = await http(node, a, 'DELETE', `/v1/users/${b.id}/follow`);
    expect(gone).toEqual({ status: 200, body: { userId: b.id, state: 'none' } });
    expect(await http(node, a, 'DELETE', `/v1/users/${b.id}/follow`)).toEqual(gone);
    expect(await rows(a.id)).toEqual([]);
    expect(await rows(b.id)).toEqual([]);
    expect(await counts(a.id)).toEqual({ followers: 0, following: 0 });
    expect(await counts(b.id)).toEqual({ followers: 0, following: 0 });
  });

  it('tells how the caller stands with a user, both ways', async () => {
    const a = await makeUser(node);
    const b = await makeUser(node);
    await http(node, a, 'PUT', `/v1/users/${b.id}/follow`);
    expect((await http(node, b, 'GET', `/v1/users/${a.id}/relation`)).body).toEqual({
      userId: a.id,
      following: 'none',
      followedBy: 'active',
      blocking: false,
      blockedBy: false,
    });
  });
});

describe('bad input: its code, and nothing changed', () => {
  it('refuses following oneself, a missing user and a malformed id', async () => {
    const a = await makeUser(node);
    const b = await makeUser(node);
    const before = await snapshot(a, b);
    const self = await http(node, a, 'PUT', `/v1/users/${a.id}/follow`);
    expect([self.status, self.body.error.code]).toEqual([400, 'cannot_follow_self']);
    const missing = await http(node, a, 'PUT', `/v1/users/${newId(7)}/follow`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
    for (const bad of ['nope', b.id.toUpperCase(), `${b.id}0`, '00000000-0000-4000-8000-000000000000']) {
      const r = await http(node, a, 'PUT', `/v1/users/${bad}/follow`);
      expect([r.status, r.body.error.code], bad).toEqual([400, 'bad_request']);
    }
    expect(await snapshot(a, b)).toEqual(before);
  });

  it('refuses following a user who blocks you, or whom you block, either way', async () => {
    const a = await makeUser(node, { shard: shardIn(node, 0) });
    const b = await makeUser(node, { shard: shardIn(node, 1) });
    expect((await http(node, b, 'PUT', `/v1/users/${a.id}/block`)).body).toEqual({
      userId: a.id,
      blocking: true,
    });
    const before = await snapshot(a, b);
    const blockedBy = await http(node, a, 'PUT', `/v1/users/${b.id}/follow`);
    expect([blockedBy.status, blockedBy.body.error.code]).toEqual([403, 'blocked']);
    const blocking = await http(node, b, 'PUT', `/v1/users/${a.id}/follow`);
    expect([blocking.status, blocking.body.error.code]).toEqual([403, 'blocked']);
    expect(await snapshot(a, b)).toEqual(before);

    // Unblocked, they may follow again.
    expect((await http(node, b, 'DELETE', `/v1/users/${a.id}/block`)).body).toEqual({
      userId: a.id,
      blocking: false,
    });
    expect((await http(node, a, 'PUT', `/v1/users/${b.id}/follow`)).body.state).toBe('active');
  });

  it('refuses blocking a missing user or oneself', async () => {
    const a = await makeUser(node);
    const before = await snapshot(a);
    const missing = await http(node, a, 'PUT', `/v1/users/${newId(3)}/block`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
    const self = await http(node, a, 'PUT', `/v1/users/${a.id}/block`);
    expect([self.status, self.body.error.code]).toEqual([400, 'bad_request']);
    expect(await snapshot(a)).toEqual(before);
  });
});

describe('blocks', () => {
  it('remove follow edges both ways and pending requests, with counts on both sides', async () => {
    const a = await makeUser(node, { shard: shardIn(node, 0) });
    const b = await makeUser(node, { shard: shardIn(node, 1) });
    const p = await makeUser(node, { private: true });
    await http(node, a, 'PUT', `/v1/users/${b.id}/follow`);
    await http(node, b, 'PUT', `/v1/users/${a.id}/follow`);
    expect(await counts(a.id)).toEqual({ followers: 1, following: 1 });
    expect((await http(node, a, 'PUT', `/v1/users/${p.id}/follow`)).body.state).toBe('pending');

    await http(node, a, 'PUT', `/v1/users/${b.id}/block`);
    await http(node, p, 'PUT', `/v1/users/${a.id}/block`);
    expect(await rows(a.id)).toEqual([]);
    expect(await rows(b.id)).toEqual([]);
    expect(await rows(p.id)).toEqual([]);
    expect(await counts(a.id)).toEqual({ followers: 0, following: 0 });
    expect(await counts(b.id)).toEqual({ followers: 0, following: 0 });
    const sides = await Promise.all(
      [a, b].map((u) =>
        node.db
          .forId(u.id)
          .query('SELECT dir, other_id::text AS other FROM blocks WHERE user_id = $1', [u.id]),
      ),
    );
    expect(sides[0]!.rows).toEqual(
      expect.arrayContaining([
        { dir: 'out', other: b.id },
        { dir: 'in', other: p.id },
      ]),
    );
    expect(sides[1]!.rows).toEqual([{ dir: 'in', other: a.id }]);
    // A block is idempotent too.
    expect((await http(node, a, 'PUT', `/v1/users/${b.id}/block`)).status).toBe(200);
    expect((await http(node, a, 'GET', `/v1/users/${b.id}/relation`)).body).toMatchObject({ blocking: true });
    expect((await http(node, b, 'GET', `/v1/users/${a.id}/relation`)).body).toMatchObject({
      blockedBy: true,
    });
  });
});

describe('private accounts', () => {
  it('turn follows into requests the owner lists, approves and denies', async () => {
    const owner = await makeUser(node, { private: true });
    const [x, y, z] = await Promise.all([makeUser(node), makeUser(node), makeUser(node)]);
    for (const u of [x, y, z])
      expect((await http(node, u, 'PUT', `/v1/users/${owner.id}/follow`)).body).toEqual({
        userId: owner.id,
        state: 'pending',
      });
    expect(await counts(owner.id)).toEqual({ followers: 0, following: 0 });
    expect(await counts(x.id)).toEqual({ followers: 0, following: 0 });

    const pending = await http(node, owner, 'GET', '/v1/me/follow-requests');
    expect(pending.body.items.map((u: { id: string }) => u.id)).toEqual([z.id, y.id, x.id]);
    expect(pending.body.items[0]).toEqual({
      id: z.id,
      username: z.username,
      displayName: z.username.toUpperCase(),
      avatarMediaId: null,
      private: false,
    });

    expect((await http(node, owner, 'POST', `/v1/me/follow-requests/${x.id}/approve`)).body).toEqual({
      userId: x.id,
      state: 'active',
    });
    expect((await http(node, owner, 'POST', `/v1/me/follow-requests/${x.id}/approve`)).status).toBe(200);
    expect(await counts(owner.id)).toEqual({ followers: 1, following: 0 });
    expect(await counts(x.id)).toEqual({ followers: 0, following: 1 });
    expect((await rows(x.id))[0]).toMatchObject({ dir: 'out', state: 'active' });

    expect((await http(node, owner, 'DELETE', `/v1/me/follow-requests/${y.id}`)).body).toEqual({
      userId: y.id,
      state: 'none',
    });
    expect(await rows(y.id)).toEqual([]);
    // Denying an active follower leaves it: that is removeFollower's job.
    expect((await http(node, owner, 'DELETE', `/v1/me/follow-requests/${x.id}`)).body.state).toBe('active');
    // z cancels its own request.
    await http(node, z, 'DELETE', `/v1/users/${owner.id}/follow`);
    expect((await http(node, owner, 'GET', '/v1/me/follow-requests')).body).toEqual({
      items: [],
      nextCursor: null,
    });
    const none = await http(node, owner, 'POST', `/v1/me/follow-requests/${z.id}/approve`);
    expect([none.status, none.body.error.code]).toEqual([404, 'not_found']);

    // Remove a follower: both sides and both counts.
    expect((await http(node, owner, 'DELETE', `/v1/me/followers/${x.id}`)).body.state).toBe('none');
    expect(await counts(owner.id)).toEqual({ followers: 0, following: 0 });
    expect(await counts(x.id)).toEqual({ followers: 0, following: 0 });
    expect(await rows(owner.id)).toEqual([]);
  });

  it('a pending request becomes active when followed again after the account went public', async () => {
    const owner = await makeUser(node, { private: true });
    const x = await makeUser(node);
    expect((await http(node, x, 'PUT', `/v1/users/${owner.id}/follow`)).body.state).toBe('pending');
    await node.db.forId(owner.id).query('UPDATE users SET private = false WHERE id = $1', [owner.id]);
    expect((await http(node, x, 'PUT', `/v1/users/${owner.id}/follow`)).body.state).toBe('active');
    expect(await counts(owner.id)).toEqual({ followers: 1, following: 0 });
    expect(await counts(x.id)).toEqual({ followers: 0, following: 1 });
  });
});

describe('a failure between the two sides', () => {
  it('is repaired by a retry of the same call', async () => {
    const a = await makeUser(node, { shard: shardIn(node, 0) });
    const b = await makeUser(node, { shard: shardIn(node, 1) });
    // A follow that stopped after the followee's side: B counts A, A does not list B.
    const edge = newId(shardIn(node, 0));
    const sqlB = node.db.forId(b.id);
    await sqlB.query(
      "INSERT INTO follows (user_id, dir, other_id, state, edge_id) VALUES ($1, 'in', $2, 'active', $3)",
      [b.id, a.id, edge],
    );
    await sqlB.query('UPDATE users SET follower_count = 1 WHERE id = $1', [b.id]);
    expect((await http(node, a, 'PUT', `/v1/users/${b.id}/follow`)).body.state).toBe('active');
    expect(await rows(a.id)).toEqual([{ dir: 'out', other_id: b.id, state: 'active', edge_id: edge }]);
    expect(await counts(a.id)).toEqual({ followers: 0, following: 1 });
    expect(await counts(b.id)).toEqual({ followers: 1, following: 0 });

    // An unfollow that stopped after the follower's side: B still counts A.
    await node.db.forId(a.id).query('DELETE FROM follows WHERE user_id = $1', [a.id]);
    await node.db.forId(a.id).query('UPDATE users SET following_count = 0 WHERE id = $1', [a.id]);
    expect((await http(node, a, 'DELETE', `/v1/users/${b.id}/follow`)).body.state).toBe('none');
    expect(await rows(b.id)).toEqual([]);
    expect(await counts(b.id)).toEqual({ followers: 0, following: 0 });

    // A follower's side alone (the followee removed it while it followed): the retry writes the
    // followee's side, and both sides carry one edge id.
    await node.db
      .forId(a.id)
      .query(
        "INSERT INTO follows (user_id, dir, other_id, state, edge_id) VALUES ($1, 'out', $2, 'active', $3)",
        [a.id, b.id, newId(shardIn(node, 0), Date.now() - 60_000)],
      );
    await node.db.forId(a.id).query('UPDATE users SET following_count = 1 WHERE id = $1', [a.id]);
    expect((await http(node, a, 'PUT', `/v1/users/${b.id}/follow`)).body.state).toBe('active');
    const [out] = await rows(a.id);
    expect(await rows(b.id)).toEqual([{ dir: 'in', other_id: a.id, state: 'active', edge_id: out!.edge_id }]);
    expect(await counts(a.id)).toEqual({ followers: 0, following: 1 });
    expect(await counts(b.id)).toEqual({ followers: 1, following: 0 });
    await http(node, a, 'DELETE', `/v1/users/${b.id}/follow`);

    // A block that stopped after the blocker's side: the retry writes the blocked side too.
    await node.db
      .forId(a.id)
      .query("INSERT INTO blocks (user_id, dir, other_id) VALUES ($1, 'out', $2)", [a.id, b.id]);
    expect((await http(node, b, 'GET', `/v1/users/${a.id}/relation`)).body.blockedBy).toBe(false);
    await http(node, a, 'PUT', `/v1/users/${b.id}/block`);
    expect((await http(node, b, 'GET', `/v1/users/${a.id}/relation`)).body.blockedBy).toBe(true);
  });
});
