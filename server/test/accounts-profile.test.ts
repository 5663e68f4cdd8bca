import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { FAST_ARGON2, http, registerUser } from './helpers/accounts-http.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';
import { deleteNamespaceStreams, natsUrl } from './services.js';

/** Waits until `check` holds (the account removal job is asynchronous), for at most 10 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A media item as the media path leaves it, written straight to its table (the upload path has its own tests). */
async function mediaItem(node: ShutterNode, id: string, ownerId: string, status: 'ready' | 'processing') {
  await node.sql.query(
    `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type)
     VALUES ($1, $2, $3, $4, 1000, 'image/jpeg')`,
    [id, ownerId, status, `media/o/${id}`],
  );
}

describe.each(TRANSPORTS)('accounts: profiles and account deletion on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport, FAST_ARGON2);
  });
  afterAll(() => node.shutdown());

  it('GET /v1/users/{username}: any case, with or without a token; unknown is not_found', async () => {
    const s = await registerUser(node, 'Public.Person');
    const anon = await http(node, 'GET', '/v1/users/public.PERSON');
    expect(anon.status).toBe(200);
    expect(anon.body).toEqual({ ...s.user, createdAt: anon.body.createdAt });
    expect(Object.keys(anon.body).sort()).toEqual(
      [
        'avatarMediaId',
        'bio',
        'createdAt',
        'displayName',
        'followerCount',
        'followingCount',
        'id',
        'postCount',
        'private',
        'username',
      ].sort(),
    );
    const viewer = await registerUser(node, 'viewer_one');
    expect((await http(node, 'GET', '/v1/users/Public.Person', undefined, viewer.accessToken)).body.id).toBe(
      s.user.id,
    );
    const missing = await http(node, 'GET', '/v1/users/nobody.at.all');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('a user who blocks the caller is not_found for them, and only for them', async () => {
    const blocker = await registerUser(node, 'the_blocker');
    const blocked = await registerUser(node, 'the_blocked');
    const b = await http(node, 'PUT', `/v1/users/${blocked.user.id}/block`, undefined, blocker.accessToken);
    expect(b.status).toBe(200);
    const seen = await http(node, 'GET', '/v1/users/the_blocker', undefined, blocked.accessToken);
    expect(seen.status).toBe(404);
    expect(seen.body.error.code).toBe('not_found');
    expect((await http(node, 'GET', '/v1/users/the_blocker')).status).toBe(200);
    // The blocker still sees the one they blocked.
    expect((await http(node, 'GET', '/v1/users/the_blocked', undefined, blocker.accessToken)).status).toBe(
      200,
    );
  });

  it('PATCH /v1/me changes the given fields; limits and bad media are refused with nothing changed', async () => {
    const s = await registerUser(node, 'patching_user');
    const other = await registerUser(node, 'someone_else');
    const t = s.accessToken;
    const ok = await http(node, 'PATCH', '/v1/me', { displayName: 'Patty 📷', bio: 'b'.repeat(150) }, t);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ displayName: 'Patty 📷', bio: 'b'.repeat(150), private: false });

    await mediaItem(node, 'm_acc_ready_own', s.user.id, 'ready');
    await mediaItem(node, 'm_acc_processing_own', s.user.id, 'processing');
    await mediaItem(node, 'm_acc_ready_other', other.user.id, 'ready');
    const bad: [unknown, number, string][] = [
      [{ bio: 'b'.repeat(151) }, 400, 'bad_request'],
      [{ displayName: 'd'.repeat(65) }, 400, 'bad_request'],
      [{ private: 'yes' }, 400, 'bad_request'],
      [{ username: 'renamed' }, 400, 'bad_request'],
      [{ avatarMediaId: 'm_acc_processing_own' }, 409, 'media_not_ready'],
      [{ avatarMediaId: 'm_acc_ready_other' }, 403, 'media_not_owned'],
      [{ avatarMediaId: 'm_no_such_item' }, 403, 'media_not_owned'],
      [{ avatarMediaId: 'm_acc_processing_own', bio: 'not this either' }, 409, 'media_not_ready'],
    ];
    for (const [body, status, code] of bad) {
      const r = await http(node, 'PATCH', '/v1/me', body, t);
      expect({ body, status: r.status, code: r.body?.error?.code }).toEqual({ body, status, code });
    }
    const unchanged = await http(node, 'GET', '/v1/me', undefined, t);
    expect(unchanged.body).toMatchObject({
      displayName: 'Patty 📷',
      bio: 'b'.repeat(150),
      avatarMediaId: null,
    });

    const avatar = await http(
      node,
      'PATCH',
      '/v1/me',
      { avatarMediaId: 'm_acc_ready_own', private: true },
      t,
    );
    expect(avatar.body).toMatchObject({
      avatarMediaId: 'm_acc_ready_own',
      private: true,
      displayName: 'Patty 📷',
    });
    expect((await http(node, 'GET', '/v1/users/patching_user')).body.avatarMediaId).toBe('m_acc_ready_own');
    const cleared = await http(node, 'PATCH', '/v1/me', { avatarMediaId: null }, t);
    expect(cleared.body.avatarMediaId).toBeNull();
    // The row, in the user's own database.
    const row = await node.db
      .forId(s.user.id)
      .query('SELECT display_name, private FROM users WHERE id = $1', [s.user.id]);
    expect(row.rows).toEqual([{ display_name: 'Patty 📷', private: true }]);

    expect((await http(node, 'PATCH', '/v1/me', { bio: 'x' })).body.error.code).toBe('unauthenticated');
  });

  it('the same operations over the socket', async () => {
    const s = await registerUser(node, 'socket_user');
    const c = await RawClient.open(wsUrl(node), s.accessToken, 'msgpack');
    try {
      expect(
        await c.call({ t: 'req', method: 'accounts.update', params: { bio: 'from the socket' } }),
      ).toMatchObject({ t: 'res', result: { id: s.user.id, bio: 'from the socket' } });
      expect(
        await c.call({ t: 'req', method: 'accounts.update', params: { avatarMediaId: 'm_not_there' } }),
      ).toMatchObject({ t: 'err', code: 'media_not_owned' });
      expect(
        await c.call({ t: 'req', method: 'accounts.profile', params: { username: 'SOCKET_USER' } }),
      ).toMatchObject({ t: 'res', result: { bio: 'from the socket' } });
    } finally {
      c.close();
    }
  });

  it('DELETE /v1/me: the password again; the account, its sessions and its claim are gone at once, its edges and row by the removal job', async () => {
    const s = await registerUser(node, 'Leaving.Soon', 'a long goodbye');
    const friend = await registerUser(node, 'stays_here');
    expect(
      (await http(node, 'PUT', `/v1/users/${friend.user.id}/follow`, undefined, s.accessToken)).status,
    ).toBe(200);
    expect((await http(node, 'GET', '/v1/users/stays_here')).body.followerCount).toBe(1);

    const wrong = await http(node, 'DELETE', '/v1/me', { password: 'a short hello' }, s.accessToken);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const none = await http(node, 'DELETE', '/v1/me', undefined, s.accessToken);
    expect(none.body.error.code).toBe('bad_request');
    expect((await http(node, 'GET', '/v1/users/leaving.soon')).status).toBe(200);

    const del = await http(node, 'DELETE', '/v1/me', { password: 'a long goodbye' }, s.accessToken);
    expect(del).toEqual({ status: 200, body: { deleted: true } });

    expect((await http(node, 'GET', '/v1/users/leaving.soon')).status).toBe(404);
    expect((await http(node, 'GET', '/v1/me', undefined, s.accessToken)).status).toBe(404);
    const login = await http(node, 'POST', '/v1/sessions', {
      username: 'leaving.soon',
      password: 'a long goodbye',
    });
    expect(login.body.error.code).toBe('invalid_credentials');
    const refresh = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: s.refreshToken });
    expect(refresh.body.error.code).toBe('refresh_token_invalid');
    // The removal job runs every capability's hook, then removes the row: the follow goes from the other side too.
    const db = node.db.forId(s.user.id);
    await until(
      async () => (await db.query('SELECT 1 FROM users WHERE id = $1', [s.user.id])).rowCount === 0,
    );
    expect((await http(node, 'GET', '/v1/users/stays_here')).body.followerCount).toBe(0);
    expect((await db.query('SELECT 1 FROM refresh_tokens WHERE user_id = $1', [s.user.id])).rowCount).toBe(0);
    // The name is free at once, for anyone.
    const again = await registerUser(node, 'leaving.soon');
    expect(again.user.id).not.toBe(s.user.id);
    // A retry of the deletion answers the same.
    expect(
      (await http(node, 'DELETE', '/v1/me', { password: 'a long goodbye' }, s.accessToken)).body,
    ).toEqual({
      deleted: true,
    });
  });
});

describe('accounts: the removal job on the JetStream queue', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('ws', { ...FAST_ARGON2, NATS_URL: natsUrl });
  });
  afterAll(async () => {
    await node?.shutdown();
    if (node) await deleteNamespaceStreams(node.config.services.namespace);
  });

  it('a deleted account is removed by a job on JetStream', async () => {
    const s = await registerUser(node, 'nats_leaver', 'a long goodbye');
    const del = await http(node, 'DELETE', '/v1/me', { password: 'a long goodbye' }, s.accessToken);
    expect(del.body).toEqual({ deleted: true });
    const db = node.db.forId(s.user.id);
    await until(
      async () => (await db.query('SELECT 1 FROM users WHERE id = $1', [s.user.id])).rowCount === 0,
    );
  });
});
