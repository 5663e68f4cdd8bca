import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DomainEvent, DomainEvents } from '../src/capabilities/events.js';
import { removeUserFromGraph } from '../src/capabilities/graph/user-deleted.js';
import type { CapabilityPorts } from '../src/capabilities/operation.js';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * Counts stay equal to the rows under concurrent follows and unfollows
 * (duplicates included); mutual follows at once do not deadlock; a deleted
 * account leaves every other user's side and count.
 */
let node: ShutterNode;

beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(async () => {
  await node?.shutdown();
});

async function count(id: string, col: 'follower_count' | 'following_count'): Promise<number> {
  const r = await node.db.forId(id).query<{ n: number }>(`SELECT ${col} AS n FROM users WHERE id = $1`, [id]);
  return r.rows[0]!.n;
}

async function edges(owner: string, dir: 'in' | 'out', state = 'active'): Promise<string[]> {
  const r = await node.db
    .forId(owner)
    .query<{ other_id: string }>(
      'SELECT other_id::text AS other_id FROM follows WHERE user_id = $1 AND dir = $2 AND state = $3 ORDER BY other_id',
      [owner, dir, state],
    );
  return r.rows.map((x) => x.other_id);
}

/** The users among `users` whose 'out' row names `target`: the other side of target's 'in' rows. */
async function outsTo(users: TestUser[], target: string): Promise<string[]> {
  const out: string[] = [];
  for (const u of users) if ((await edges(u.id, 'out')).includes(target)) out.push(u.id);
  return out.sort();
}

describe('counts under concurrency', () => {
  it('equal the rows after many concurrent follows and unfollows of one user, duplicates included', async () => {
    const target = await makeUser(node);
    const fans = await makeUsers(node, 24);
    // Every fan sends a random run of follows and unfollows, all fans at once, each call sent twice.
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const calls: Promise<{ status: number }>[] = [];
    for (let round = 0; round < 4; round++) {
      for (const f of fans) {
        const verb = rand() < 0.6 ? 'PUT' : 'DELETE';
        calls.push(http(node, f, verb, `/v1/users/${target.id}/follow`));
        calls.push(http(node, f, verb, `/v1/users/${target.id}/follow`));
      }
    }
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual(calls.map(() => 200));

    const followers = await edges(target.id, 'in');
    expect(await count(target.id, 'follower_count')).toBe(followers.length);
    expect(followers.length).toBeGreaterThan(0);
    expect(followers.length).toBeLessThan(fans.length);
    // Both sides agree: the target's 'in' rows are exactly the fans' 'out' rows.
    expect(await outsTo(fans, target.id)).toEqual(followers);
    for (const f of fans)
      expect(await count(f.id, 'following_count')).toBe((await edges(f.id, 'out')).length);
  });

  it('does not deadlock when users follow each other at the same moment', async () => {
    const users = await makeUsers(node, 12);
    const started = Date.now();
    const calls: Promise<{ status: number }>[] = [];
    for (const a of users)
      for (const b of users) if (a !== b) calls.push(http(node, a, 'PUT', `/v1/users/${b.id}/follow`));
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual(calls.map(() => 200));
    // Well under the ask deadline: nobody waited for a turn that waited for it.
    expect(Date.now() - started).toBeLessThan(node.config.actors.askTimeoutMs);
    for (const u of users) {
      expect(await count(u.id, 'follower_count')).toBe(users.length - 1);
      expect(await count(u.id, 'following_count')).toBe(users.length - 1);
    }
  });
});

describe('a deleted account', () => {
  it('leaves every other side, with the others counts, and emits follow.changed none for each edge', async () => {
    const gone = await makeUser(node);
    const [fan, idol, asker, blocker] = await makeUsers(node, 4);
    const priv = await makeUser(node, { private: true });
    await http(node, fan!, 'PUT', `/v1/users/${gone.id}/follow`);
    await http(node, gone, 'PUT', `/v1/users/${idol!.id}/follow`);
    await http(node, gone, 'PUT', `/v1/users/${priv.id}/follow`); // pending
    await http(node, asker!, 'PUT', `/v1/users/${gone.id}/follow`);
    await http(node, blocker!, 'PUT', `/v1/users/${gone.id}/block`);
    expect(await count(fan!.id, 'following_count')).toBe(1);
    expect(await count(idol!.id, 'follower_count')).toBe(1);

    const events = new DomainEvents();
    const seen: DomainEvent[] = [];
    events.on('follow.changed', (e) => {
      seen.push(e);
    });
    await removeUserFromGraph({ db: node.db, events } as unknown as CapabilityPorts, gone.id);

    expect(await count(fan!.id, 'following_count')).toBe(0);
    expect(await count(idol!.id, 'follower_count')).toBe(0);
    expect(await count(asker!.id, 'following_count')).toBe(0);
    for (const u of [fan!, idol!, asker!, priv, gone]) {
      expect(await edges(u.id, 'in')).toEqual([]);
      expect(await edges(u.id, 'out')).toEqual([]);
      expect(await edges(u.id, 'in', 'pending')).toEqual([]);
    }
    const blocks = await node.db
      .forId(blocker!.id)
      .query('SELECT 1 FROM blocks WHERE user_id = $1 OR user_id = $2', [blocker!.id, gone.id]);
    expect(blocks.rowCount).toBe(0);
    const key = (e: DomainEvent) =>
      e.type === 'follow.changed' ? `${e.follower}>${e.followee}:${e.state}` : '';
    expect(seen.map(key).sort()).toEqual(
      [
        `${fan!.id}>${gone.id}:none`,
        `${gone.id}>${idol!.id}:none`,
        `${gone.id}>${priv.id}:none`,
        `${asker!.id}>${gone.id}:none`,
      ].sort(),
    );
  });
});
