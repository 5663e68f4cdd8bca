import geohash from 'ngeohash';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import type { PgSql } from '../src/sql/pg-sql.js';
import {
  bruteForce,
  buildWorld,
  expectBruteForce,
  FIJI,
  PARIS,
  type World,
} from './fixtures/search-world.js';
import { http } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';
import { postgresUrlB } from './services.js';

/**
 * Search and places on one node over two physical databases: every list
 * (hashtag recent and top, caption search, user search, posts near a
 * point) equals a brute-force computation over the fixture, page by page,
 * for two viewers; every bad input has a clear refusal; and a database
 * that does not answer in time (a conflicting lock held on its tables)
 * gives partial answers, marked so and fast, after which the pool answers
 * in full again.
 */
const BUDGET_MS = 300;
let node: ShutterNode;
let w: World;

beforeAll(async () => {
  node = await startTestNode('ws', { SEARCH_BUDGET_MS: String(BUDGET_MS) });
  w = await buildWorld(node);
}, 60_000);
afterAll(() => node?.shutdown());

const TAGS = ['travel', 'food', 'sunset', 'paris', 'café', 'nothing'];
const CAPTIONS = ['sunset', 'SUNSET beach', 'coffee, dog', '#travel', 'snow mountain night', 'zebra'];
const NAMES = ['al', 'AL', '@ali', 'é', 'b', 'me', 'zed a', 'u'];
const PLACES: [number, number, number][] = [
  [PARIS.lat, PARIS.lon, 800],
  [PARIS.lat, PARIS.lon, 2000],
  [PARIS.lat + 0.01, PARIS.lon - 0.02, 1500],
  [PARIS.lat, PARIS.lon, 50_000],
  [FIJI.lat, FIJI.lon, 3000],
  [FIJI.lat, -179.99, 2500],
  [0, 0, 1000],
];

describe('search and places equal brute force over two databases', () => {
  it('spreads the fixture over both databases', () => {
    const live = w.posts.filter((p) => !p.deleted);
    expect(new Set(live.map((p) => p.author.db))).toEqual(new Set([0, 1]));
    expect(live.filter((p) => p.location).length).toBeGreaterThan(30);
  });

  it('stores each post geohash as ngeohash encodes its place (filled on create)', async () => {
    for (const p of w.posts) {
      const r = await node.db
        .forId(p.id)
        .query<{ geohash: string | null }>('SELECT geohash FROM posts WHERE id = $1', [p.id]);
      expect(r.rows[0]?.geohash).toBe(p.location ? geohash.encode(p.location.lat, p.location.lon, 9) : null);
    }
  });

  it('every list, page by page, for two viewers', async () => {
    const compared = await expectBruteForce(node, w, [w.me, w.other], {
      tags: TAGS,
      captions: CAPTIONS,
      names: NAMES,
      places: PLACES,
    });
    expect(compared).toBeGreaterThan(250);
    // Both sides of the antimeridian answer one query.
    const fiji = bruteForce(w, w.me).near(FIJI.lat, FIJI.lon, 3000);
    const lons = fiji.map((id) => w.posts.find((p) => p.id === id)!.location!.lon);
    expect(lons.some((l) => l > 0) && lons.some((l) => l < 0)).toBe(true);
  });

  it('takes a tag in any case, with its #, and hydrates as a feed page', async () => {
    const r = await http(node, w.me, 'GET', `/v1/tags/${encodeURIComponent('#TRAVEL')}/posts?limit=50`);
    expect(r.body.tag).toBe('travel');
    expect(r.body.items.map((p: { id: string }) => p.id)).toEqual(bruteForce(w, w.me).tagRecent('travel'));
    expect(r.body.items.length).toBeGreaterThan(3);
    for (const item of r.body.items) {
      const post = w.posts.find((p) => p.id === item.id)!;
      expect(item).toMatchObject({ caption: post.caption, likeCount: post.likes, likedByMe: false });
      expect(item.author).toMatchObject({ id: post.author.id, username: post.author.username });
      expect(item.media).toHaveLength(1);
    }
  });

  it('finds people I follow first', async () => {
    const r = await http(node, w.me, 'GET', '/v1/search/users?q=al&limit=50');
    expect(r.body.items[0]).toMatchObject({
      username: 'al.bert',
      following: true,
      private: true,
      avatarMediaId: null,
    });
    expect(r.body.items.filter((u: { following: boolean }) => u.following)).toHaveLength(1);
  });
});

describe('input', () => {
  const refused = async (path: string, code = 'bad_request'): Promise<string> => {
    const r = await http(node, w.me, 'GET', path);
    expect(r.status, path).toBe(400);
    expect(r.body.error.code, path).toBe(code);
    return r.body.error.message;
  };

  it('refuses every bad input with a clear error', async () => {
    expect(await refused(`/v1/tags/${encodeURIComponent('a-b')}/posts`)).toMatch(/letters, digits or _/);
    expect(await refused(`/v1/tags/${encodeURIComponent('#')}/posts`)).toMatch(/tag is empty/);
    expect(await refused(`/v1/tags/${'x'.repeat(101)}/posts`)).toMatch(/longer than 100/);
    await refused('/v1/tags/travel/posts?sort=best');
    await refused('/v1/tags/travel/posts?limit=0');
    await refused('/v1/tags/travel/posts?limit=51');
    await refused('/v1/search/posts');
    await refused('/v1/search/posts?q=');
    expect(await refused('/v1/search/posts?q=%20%20')).toMatch(/no word/);
    expect(await refused('/v1/search/posts?q=!!!')).toMatch(/no word/);
    await refused(`/v1/search/posts?q=${'a'.repeat(101)}`);
    expect(await refused('/v1/search/users?q=@')).toMatch(/q is empty/);
    expect(await refused('/v1/search/users?q=%20')).toMatch(/q is empty/);
    await refused(`/v1/search/users?q=${'a'.repeat(66)}`);
    const near = '/v1/places/posts';
    expect(await refused(`${near}?lat=91&lon=0&radius=10`)).toMatch(/lat/);
    expect(await refused(`${near}?lat=0&lon=-180.5&radius=10`)).toMatch(/lon/);
    await refused(`${near}?lat=north&lon=0&radius=10`);
    await refused(`${near}?lat=0&lon=0`);
    expect(await refused(`${near}?lat=0&lon=0&radius=0`)).toMatch(/radius/);
    expect(await refused(`${near}?lat=0&lon=0&radius=50001`)).toMatch(/at most 50000 m/);
  });

  it('refuses a cursor that is not one of the list', async () => {
    await refused('/v1/search/posts?q=sunset&cursor=nope', 'invalid_cursor');
    const top = await http(node, w.me, 'GET', '/v1/tags/sunset/posts?sort=top&limit=1');
    expect(top.body.nextCursor).toEqual(expect.any(String));
    await refused(`/v1/tags/sunset/posts?cursor=${top.body.nextCursor}`, 'invalid_cursor');
    const users = await http(node, w.me, 'GET', '/v1/search/users?q=a&limit=1');
    await refused(`/v1/places/posts?lat=0&lon=0&radius=5&cursor=${users.body.nextCursor}`, 'invalid_cursor');
    await refused(`/v1/search/users?q=a&cursor=${top.body.nextCursor}`, 'invalid_cursor');
  });
});

describe('a database that does not answer in time', () => {
  it('gives partial answers, marked partial, within the budget; then the pool answers in full', async () => {
    const second = node.db.all[1] as PgSql;
    expect(second.kind).toBe('postgres');
    // A conflicting lock on the second database's tables, held in an open transaction.
    const locker = new pg.Client({ connectionString: postgresUrlB });
    await locker.connect();
    const lists = (viewer = w.me, dbs?: number[]) => {
      const brute = bruteForce(w, viewer, dbs);
      return [
        { path: '/v1/tags/sunset/posts?limit=50', want: brute.tagRecent('sunset') },
        { path: '/v1/tags/travel/posts?sort=top&limit=50', want: brute.tagTop('travel') },
        { path: '/v1/search/posts?q=sunset&limit=50', want: brute.caption('sunset') },
        { path: '/v1/search/users?q=a&limit=50', want: brute.users('a') },
        {
          path: `/v1/places/posts?lat=${PARIS.lat}&lon=${PARIS.lon}&radius=5000&limit=50`,
          want: brute.near(PARIS.lat, PARIS.lon, 5000),
        },
      ];
    };
    const ask = (path: string) => http(node, w.me, 'GET', path);
    try {
      await locker.query('BEGIN');
      await locker.query(
        `LOCK TABLE ${second.schema}.posts, ${second.schema}.post_tags, ${second.schema}.users IN ACCESS EXCLUSIVE MODE`,
      );
      // Three rounds at once: more requests than the second database's pool has connections.
      const firstOnly = lists(w.me, [0]);
      for (const l of firstOnly) expect(l.want.length, l.path).toBeGreaterThan(0);
      const started = Date.now();
      const answers = await Promise.all([...firstOnly, ...firstOnly, ...firstOnly].map((l) => ask(l.path)));
      const elapsed = Date.now() - started;
      answers.forEach((r, i) => {
        const l = firstOnly[i % firstOnly.length]!;
        expect(r.status, l.path).toBe(200);
        expect(r.body.partial, l.path).toBe(true);
        // What the answering database holds, exactly.
        expect(
          r.body.items.map((x: { id: string }) => x.id),
          l.path,
        ).toEqual(l.want);
      });
      expect(elapsed).toBeLessThan(BUDGET_MS * 4 + 1000);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
    // The late statements were cancelled on the server (statement_timeout) or finished: full answers again.
    const full = lists();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(full.map((l) => ask(l.path)));
      answers.forEach((r, i) => {
        const l = full[i]!;
        expect(r.body.partial, l.path).toBe(false);
        expect(
          r.body.items.map((x: { id: string }) => x.id),
          l.path,
        ).toEqual(l.want);
      });
    }
  });
});
