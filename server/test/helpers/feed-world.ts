import { newId, shardOfId } from '@shutter/protocol';
import { expect } from 'vitest';
import type { ShutterNode } from '../../src/node.js';
import { insertMedia } from '../fixtures/posts.js';
import { http, type TestUser } from '../fixtures/social.js';

/**
 * Drives the social core of one node through its HTTP routes, as a client
 * would (feed tests): follows, blocks, posts, feed pages. Fan-out runs in a
 * durable job after each post: `settled` waits until the feed's queue
 * (the SQL queue of a node without NATS) has nothing queued or running.
 */
export class FeedWorld {
  constructor(readonly node: ShutterNode) {}

  async follow(a: TestUser, b: TestUser): Promise<void> {
    const r = await http(this.node, a, 'PUT', `/v1/users/${b.id}/follow`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  async unfollow(a: TestUser, b: TestUser): Promise<void> {
    const r = await http(this.node, a, 'DELETE', `/v1/users/${b.id}/follow`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  async block(a: TestUser, b: TestUser): Promise<void> {
    const r = await http(this.node, a, 'PUT', `/v1/users/${b.id}/block`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  async unblock(a: TestUser, b: TestUser): Promise<void> {
    const r = await http(this.node, a, 'DELETE', `/v1/users/${b.id}/block`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  /** A post of `a` with one ready media item; its id. */
  async post(a: TestUser): Promise<string> {
    const id = newId(shardOfId(a.id) as number);
    const media = await insertMedia(this.node, a.id);
    const r = await http(this.node, a, 'POST', '/v1/posts', { id, mediaIds: [media] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return id;
  }

  async deletePost(a: TestUser, id: string): Promise<void> {
    const r = await http(this.node, a, 'DELETE', `/v1/posts/${id}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }

  async page(a: TestUser, query: { limit?: number; cursor?: string } = {}): ReturnType<typeof http> {
    const q = new URLSearchParams();
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.cursor !== undefined) q.set('cursor', query.cursor);
    return http(this.node, a, 'GET', `/v1/feed${q.size ? `?${q}` : ''}`);
  }

  /** Every page of `a`'s feed, `limit` at a time: the post ids in order, and each page's. */
  async all(a: TestUser, limit: number): Promise<{ ids: string[]; pages: string[][] }> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const r = await this.page(a, { limit, ...(cursor ? { cursor } : {}) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      pages.push(r.body.items.map((p: { id: string }) => p.id));
      if (r.body.nextCursor === null) return { ids: pages.flat(), pages };
      cursor = r.body.nextCursor;
    }
    throw new Error('the feed did not end in 1000 pages');
  }

  /** Waits until no feed fan-out job is queued or running. */
  async settled(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.node.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM job_queue WHERE queue = 'feed-fanout' AND status IN ('queued', 'running')`,
      );
      if (Number(r.rows[0]?.n) === 0) return;
      if (Date.now() > end) throw new Error(`feed fan-out jobs still pending after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Each user's feed from the tables alone: their live posts and their active followings', newest first. */
  async expected(users: readonly TestUser[]): Promise<Map<string, string[]>> {
    const ids = users.map((u) => u.id);
    const live: { id: string; author: string }[] = [];
    for (const sql of this.node.db.all) {
      const r = await sql.query<{ id: string; author: string }>(
        `SELECT id::text AS id, author_id::text AS author FROM posts
          WHERE author_id = ANY($1::uuid[]) AND deleted_at IS NULL`,
        [ids],
      );
      live.push(...r.rows);
    }
    const out = new Map<string, string[]>();
    for (const u of users) {
      const r = await this.node.db
        .forId(u.id)
        .query<{ other: string }>(
          `SELECT other_id::text AS other FROM follows WHERE user_id = $1 AND dir = 'out' AND state = 'active'`,
          [u.id],
        );
      const sees = new Set([u.id, ...r.rows.map((x) => x.other)]);
      out.set(
        u.id,
        live
          .filter((p) => sees.has(p.author))
          .map((p) => p.id)
          .sort()
          .reverse(),
      );
    }
    return out;
  }
}
