import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { FAST_ARGON2, http, registerUser } from './helpers/accounts-http.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';

/** Rows of `table` whose `column` equals `value`, counted over every database of the node. */
async function countEverywhere(node: ShutterNode, table: string, column: string, value: string) {
  let n = 0;
  for (const sql of node.db.all)
    n += (await sql.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [value])).rowCount;
  return n;
}

describe('accounts: registration, login, refresh, logout', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('ws', FAST_ARGON2);
  });
  afterAll(() => node.shutdown());

  it('registers: 201 with the user and tokens the gateway accepts; rows on the right shards, secrets hashed', async () => {
    const r = await http(node, 'POST', '/v1/accounts', {
      username: 'Ada.Lovelace',
      password: 'analytical engine',
      displayName: 'Ada',
    });
    expect(r.status).toBe(201);
    const s = r.body;
    expect(s.user).toMatchObject({
      username: 'Ada.Lovelace',
      displayName: 'Ada',
      bio: '',
      avatarMediaId: null,
      private: false,
      followerCount: 0,
      followingCount: 0,
      postCount: 0,
    });
    const id: string = s.user.id;
    expect(s.accessTokenExpiresAt - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(s.accessTokenExpiresAt - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 1000);
    expect(s.refreshToken).toMatch(new RegExp(`^rt1\\.${id}\\.`));

    // The access token opens a socket as that user and calls HTTP operations.
    const c = await RawClient.open(wsUrl(node), s.accessToken, 'json');
    try {
      expect(await c.call({ t: 'req', method: 'accounts.me', params: {} })).toMatchObject({
        t: 'res',
        result: { id, username: 'Ada.Lovelace' },
      });
    } finally {
      c.close();
    }
    expect((await http(node, 'GET', '/v1/me', undefined, s.accessToken)).body).toMatchObject({ id });

    // The user row in its id's database, the claim in its name's, and nowhere else.
    const home = node.db.forId(id);
    const row = await home.query<{ password_hash: string; username: string }>(
      'SELECT password_hash, username FROM users WHERE id = $1',
      [id],
    );
    expect(row.rows[0]?.username).toBe('Ada.Lovelace');
    expect(row.rows[0]?.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.rows[0]?.password_hash).not.toContain('analytical');
    expect(await countEverywhere(node, 'users', 'id', id)).toBe(1);
    const claim = await node.db
      .forKey('ada.lovelace')
      .query('SELECT user_id::text AS u FROM usernames WHERE name = $1', ['ada.lovelace']);
    expect(claim.rows).toEqual([{ u: id }]);
    expect(await countEverywhere(node, 'usernames', 'name', 'ada.lovelace')).toBe(1);
    // The refresh token is stored as its SHA-256 only.
    const digest = createHash('sha256').update(s.refreshToken).digest('hex');
    expect((await home.query('SELECT 1 FROM refresh_tokens WHERE hash = $1', [digest])).rowCount).toBe(1);
    expect(await countEverywhere(node, 'refresh_tokens', 'user_id', id)).toBe(1);
  });

  it("users land on both physical databases, each row only in its id's, each claim only in its name's", async () => {
    expect(node.db.all).toHaveLength(2);
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => registerUser(node, `spread_${i}`)));
    const used = new Set<unknown>();
    for (const { user } of made) {
      const home = node.db.forId(user.id);
      used.add(home);
      for (const sql of node.db.all)
        expect((await sql.query('SELECT 1 FROM users WHERE id = $1', [user.id])).rowCount).toBe(
          sql === home ? 1 : 0,
        );
      const key = user.username.toLowerCase();
      const claimDb = node.db.forKey(key);
      for (const sql of node.db.all)
        expect((await sql.query('SELECT 1 FROM usernames WHERE name = $1', [key])).rowCount).toBe(
          sql === claimDb ? 1 : 0,
        );
    }
    // Random logical shards: 20 users all on one of two databases would be a 1 in 500 000 chance.
    expect(used.size).toBe(2);
  });

  it('a password hashed at another cost is rehashed at the configured one on the next login', async () => {
    const s = await registerUser(node, 'old_hash_user', 'an old password');
    const sql = node.db.forId(s.user.id);
    const { hash } = await import('@node-rs/argon2');
    const old = await hash('an old password', { memoryCost: 2048, timeCost: 1, parallelism: 1 });
    await sql.query('UPDATE users SET password_hash = $2 WHERE id = $1', [s.user.id, old]);
    const r = await http(node, 'POST', '/v1/sessions', {
      username: 'old_hash_user',
      password: 'an old password',
    });
    expect(r.status).toBe(200);
    const row = await sql.query<{ h: string }>('SELECT password_hash AS h FROM users WHERE id = $1', [
      s.user.id,
    ]);
    expect(row.rows[0]?.h).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(
      (await http(node, 'POST', '/v1/sessions', { username: 'old_hash_user', password: 'an old password' }))
        .status,
    ).toBe(200);
  });

  it('refuses bad registrations with their codes and changes nothing', async () => {
    await registerUser(node, 'grace_hopper');
    const cases: [unknown, number, string][] = [
      [{ username: 'Grace_Hopper', password: 'correct horse battery' }, 409, 'username_taken'],
      [{ username: 'GRACE_HOPPER', password: 'another fine one' }, 409, 'username_taken'],
      [{ username: 'no spaces', password: 'correct horse battery' }, 400, 'username_invalid'],
      [{ username: 'x', password: 'correct horse battery' }, 400, 'username_invalid'],
      [{ username: 'two..dots', password: 'correct horse battery' }, 400, 'username_invalid'],
      [{ username: 'Admin', password: 'correct horse battery' }, 400, 'username_reserved'],
      [{ username: 'support_', password: 'correct horse battery' }, 400, 'username_reserved'],
      [{ username: 'weak_one', password: 'password123' }, 400, 'password_too_weak'],
      [{ username: 'weak_two', password: 'short' }, 400, 'password_too_weak'],
      [{ username: 'weak_three', password: 'weak_three' }, 400, 'password_too_weak'],
      [{ username: 'extra', password: 'correct horse battery', admin: true }, 400, 'bad_request'],
      [{ username: 'nopass' }, 400, 'bad_request'],
    ];
    for (const [body, status, code] of cases) {
      const r = await http(node, 'POST', '/v1/accounts', body);
      expect({ body, status: r.status, code: r.body?.error?.code }).toEqual({ body, status, code });
    }
    expect(await countEverywhere(node, 'usernames', 'name', 'grace_hopper')).toBe(1);
    for (const name of ['weak_one', 'weak_two', 'weak_three', 'admin', 'support_', 'extra', 'nopass'])
      expect(await countEverywhere(node, 'usernames', 'name', name)).toBe(0);
    let users = 0;
    for (const sql of node.db.all)
      users += (await sql.query("SELECT 1 FROM users WHERE lower(username) = 'grace_hopper'")).rowCount;
    expect(users).toBe(1);
  });

  it('logs in with the username in any case; a wrong password and an unknown user are both invalid_credentials', async () => {
    const reg = await registerUser(node, 'Linus', 'penguins on ice');
    const ok = await http(node, 'POST', '/v1/sessions', { username: 'lINUS', password: 'penguins on ice' });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(reg.user.id);
    expect(ok.body.refreshToken).not.toBe(reg.refreshToken);
    expect((await http(node, 'GET', '/v1/me', undefined, ok.body.accessToken)).body.id).toBe(reg.user.id);
    // An app that sends its stale or broken access token along still logs in and refreshes
    // (those calls need no token; before, the token was checked and answered 401).
    const stale = await http(
      node,
      'POST',
      '/v1/sessions',
      { username: 'linus', password: 'penguins on ice' },
      'not-a-jwt',
    );
    expect(stale.status).toBe(200);
    const refreshed = await http(
      node,
      'POST',
      '/v1/sessions/refresh',
      { refreshToken: stale.body.refreshToken },
      'not-a-jwt',
    );
    expect(refreshed.status).toBe(200);
    // An operation that needs a user still refuses that token.
    expect((await http(node, 'GET', '/v1/me', undefined, 'not-a-jwt')).status).toBe(401);

    const wrong = await http(node, 'POST', '/v1/sessions', {
      username: 'linus',
      password: 'penguins on fire',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const unknown = await http(node, 'POST', '/v1/sessions', {
      username: 'nobody_here',
      password: 'whatever123',
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('invalid_credentials');
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
  });

  it('refresh rotates; reusing a spent token revokes its family, not the other sessions', async () => {
    const reg = await registerUser(node, 'rotating_user');
    const other = (
      await http(node, 'POST', '/v1/sessions', {
        username: 'rotating_user',
        password: 'correct horse battery',
      })
    ).body;

    const r1 = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: reg.refreshToken });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(reg.refreshToken);
    expect((await http(node, 'GET', '/v1/me', undefined, r1.body.accessToken)).body.id).toBe(reg.user.id);
    const r2 = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: r1.body.refreshToken });
    expect(r2.status).toBe(200);

    // The first token again: it was spent, so it leaked; the whole family goes.
    const reuse = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: reg.refreshToken });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('refresh_token_invalid');
    const latest = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: r2.body.refreshToken });
    expect(latest.body.error.code).toBe('refresh_token_invalid');

    // The other login is its own family and lives on.
    const still = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: other.refreshToken });
    expect(still.status).toBe(200);

    for (const refreshToken of [
      'garbage',
      `rt1.${reg.user.id}.${'A'.repeat(43)}`,
      `rt1.${randomUUID()}.${'A'.repeat(43)}`,
    ]) {
      const bad = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken });
      expect({ refreshToken, code: bad.body.error.code }).toEqual({
        refreshToken,
        code: 'refresh_token_invalid',
      });
    }
  });

  it('two refreshes of one token at once: one wins, the family is revoked by the other', async () => {
    const reg = await registerUser(node, 'racing_user');
    const [a, b] = await Promise.all([
      http(node, 'POST', '/v1/sessions/refresh', { refreshToken: reg.refreshToken }),
      http(node, 'POST', '/v1/sessions/refresh', { refreshToken: reg.refreshToken }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const winner = a.status === 200 ? a : b;
    const after = await http(node, 'POST', '/v1/sessions/refresh', {
      refreshToken: winner.body.refreshToken,
    });
    expect(after.body.error.code).toBe('refresh_token_invalid');
  });

  it('logout revokes the session; a second logout answers revoked: false', async () => {
    const reg = await registerUser(node, 'leaving_user');
    const out = await http(node, 'POST', '/v1/sessions/logout', { refreshToken: reg.refreshToken });
    expect(out).toEqual({ status: 200, body: { revoked: true } });
    const again = await http(node, 'POST', '/v1/sessions/logout', { refreshToken: reg.refreshToken });
    expect(again.body).toEqual({ revoked: false });
    const r = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: reg.refreshToken });
    expect(r.body.error.code).toBe('refresh_token_invalid');
  });

  it('a claim whose user row was never written is taken over after the grace time, not before', async () => {
    const orphan = newId(700);
    await node.db
      .forKey('crashed_claim')
      .query(
        "INSERT INTO usernames (name, user_id, created_at) VALUES ($1, $2, now() - interval '2 minutes')",
        ['crashed_claim', orphan],
      );
    await node.db
      .forKey('fresh_claim')
      .query('INSERT INTO usernames (name, user_id) VALUES ($1, $2)', ['fresh_claim', randomUUID()]);
    const took = await registerUser(node, 'crashed_claim');
    expect(took.user.id).not.toBe(orphan);
    const fresh = await http(node, 'POST', '/v1/accounts', {
      username: 'fresh_claim',
      password: 'correct horse battery',
    });
    expect(fresh.body.error.code).toBe('username_taken');
  });
});

describe('accounts: login limits', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('uws', {
      ...FAST_ARGON2,
      AUTH_LOGIN_FAILURES_PER_USERNAME: '3',
      AUTH_LOGIN_FAILURES_PER_ADDRESS: '5',
    });
  });
  afterAll(() => node.shutdown());

  it('per username, then per address: rate_limited with retryAfterMs, even with the right password', async () => {
    await registerUser(node, 'target_user', 'the right password');
    for (let i = 0; i < 3; i++) {
      const r = await http(node, 'POST', '/v1/sessions', {
        username: 'target_user',
        password: `wrong ${i}!!!`,
      });
      expect(r.body.error.code).toBe('invalid_credentials');
    }
    const limited = await http(node, 'POST', '/v1/sessions', {
      username: 'TARGET_USER',
      password: 'the right password',
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.retryAfterMs).toBeGreaterThan(14 * 60_000);

    // Two more failures from this address (other names) reach its limit of 5.
    await registerUser(node, 'bystander', 'bystander password');
    for (const username of ['someone_a', 'someone_b']) {
      const r = await http(node, 'POST', '/v1/sessions', { username, password: 'nothing at all' });
      expect(r.body.error.code).toBe('invalid_credentials');
    }
    const byAddress = await http(node, 'POST', '/v1/sessions', {
      username: 'bystander',
      password: 'bystander password',
    });
    expect(byAddress.status).toBe(429);
    expect(byAddress.body.error.code).toBe('rate_limited');
  });
});

describe('accounts: verify-only (an outside identity provider issues the tokens)', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    node = await startTestNode('ws', {
      ...FAST_ARGON2,
      AUTH_JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
  });
  afterAll(() => node.shutdown());

  it('registration, login and refresh answer forbidden and write nothing', async () => {
    const reg = await http(node, 'POST', '/v1/accounts', {
      username: 'idp_user',
      password: 'correct horse battery',
    });
    expect(reg.status).toBe(403);
    expect(reg.body.error).toMatchObject({ code: 'forbidden' });
    expect(reg.body.error.message).toContain('identity provider');
    const login = await http(node, 'POST', '/v1/sessions', {
      username: 'idp_user',
      password: 'correct horse battery',
    });
    expect(login.body.error.code).toBe('forbidden');
    const refresh = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: 'rt1.x.y' });
    expect(refresh.body.error.code).toBe('forbidden');
    expect(await countEverywhere(node, 'usernames', 'name', 'idp_user')).toBe(0);
  });
});
