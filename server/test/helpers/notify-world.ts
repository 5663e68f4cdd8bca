import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { type InboxEvent, inboxStream, newId, shardOfId } from '@shutter/protocol';
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { PushNotification, PushOutbox } from '../../src/capabilities/push-outbox.js';
import type { ShutterNode } from '../../src/node.js';
import { storedMessage } from '../../src/push/sql-push-outbox.js';
import { insertMedia } from '../fixtures/posts.js';
import { http, type TestUser } from '../fixtures/social.js';
import { devToken, wsUrl } from './test-node.js';

/** A PushOutbox that records what it is handed: the test stand-in for the push capability's outbox. */
export class RecordingOutbox implements PushOutbox {
  readonly enqueued: PushNotification[] = [];
  readonly cancelled: string[] = [];

  async enqueue(items: readonly PushNotification[]): Promise<void> {
    // Refuses what the real outbox refuses (a reserved data key, a long collapse key…): a stand-in that
    // took anything hid that every real push of the ledger threw.
    for (const n of items) storedMessage(n);
    this.enqueued.push(...items);
  }

  async cancel(ids: readonly string[]): Promise<void> {
    this.cancelled.push(...ids);
  }

  /** Pushes of this notification (the ledger must hand each over at most once). */
  of(notificationId: string): PushNotification[] {
    return this.enqueued.filter((p) => p.notificationId === notificationId);
  }
}

/** Polls `cond` every 20 ms until it holds, failing after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A socket of `user` on `node`, subscribed to its inbox, recording every event. */
export interface InboxSocket {
  client: ShutterClient;
  events: InboxEvent[];
  /** The `notification` events' notifications, in arrival order. */
  notifications(): Extract<InboxEvent, { type: 'notification' }>['notification'][];
}

/**
 * Drives notifications on one node as the other engagement capabilities
 * will: domain events emitted through `node.ports.events` (likes and
 * comments), the real graph and posts routes for follows, blocks and posts.
 * `settled` waits until the node's notification queue (SQL, without NATS)
 * has nothing queued or running.
 */
export class NotifyWorld {
  readonly clients: ShutterClient[] = [];

  constructor(readonly node: ShutterNode) {}

  like(post: { id: string; author: string }, liked: readonly string[], unliked: readonly string[] = []) {
    return this.node.ports.events.emit({
      type: 'likes.changed',
      postId: post.id,
      authorId: post.author,
      liked: liked.map((userId) => ({ userId, at: Date.now() })),
      unliked,
      likeCount: liked.length,
    });
  }

  comment(
    post: { id: string; author: string },
    by: string,
    text: string,
    extra: { parent?: { id: string; author: string }; mentionIds?: string[]; id?: string } = {},
  ): Promise<string> {
    const commentId = extra.id ?? newId(shardOfId(post.id) ?? 0);
    return this.node.ports.events
      .emit({
        type: 'comment.created',
        commentId,
        postId: post.id,
        postAuthorId: post.author,
        authorId: by,
        ...(extra.parent ? { parentId: extra.parent.id, parentAuthorId: extra.parent.author } : {}),
        mentionIds: extra.mentionIds ?? [],
        text,
        createdAt: Date.now(),
      })
      .then(() => commentId);
  }

  /** A real post of `author` (one ready photo) with `caption`, through the HTTP route. */
  async post(author: TestUser, caption = ''): Promise<{ id: string; author: string }> {
    const id = newId(shardOfId(author.id) ?? 0);
    const media = await insertMedia(this.node, author.id);
    const r = await http(this.node, author, 'POST', '/v1/posts', { id, mediaIds: [media], caption });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { id, author: author.id };
  }

  /** A call of a route that must succeed; its body. */
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field.
  async ok(user: TestUser, method: string, path: string, body?: unknown): Promise<any> {
    const r = await http(this.node, user, method, path, body);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body;
  }

  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field.
  list(user: TestUser, query = ''): Promise<any> {
    return this.ok(user, 'GET', `/v1/notifications${query}`);
  }

  /** Waits until no notification job is queued or running. */
  async settled(timeoutMs = 20_000): Promise<void> {
    await until(
      async () => {
        const r = await this.node.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM job_queue WHERE queue = 'notifications' AND status IN ('queued', 'running')`,
        );
        return r.rows[0]?.n === 0;
      },
      timeoutMs,
      'notification jobs settled',
    );
  }

  /** A socket of `user` subscribed to its inbox (resolves once subscribed). */
  async inbox(user: TestUser, url = wsUrl(this.node)): Promise<InboxSocket> {
    const client = createClient({
      url,
      getToken: () => devToken(this.node, user.id),
      WebSocket: WebSocket as never,
    });
    this.clients.push(client);
    const events: InboxEvent[] = [];
    const sub = client.subscribe<InboxEvent>(inboxStream(user.id), (e) => events.push(e.data));
    client.connect();
    await until(() => sub.state === 'subscribed', 10_000, 'inbox subscribed');
    return {
      client,
      events,
      notifications: () => events.flatMap((e) => (e.type === 'notification' ? [e.notification] : [])),
    };
  }

  close(): void {
    for (const c of this.clients) c.disconnect();
  }
}
