import { createClient, type ShutterClient, type StreamEvent } from '@shutter/client-sdk';
import { type CommentEvent, postStream, ShutterError, streamKind } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultAuthorizer } from '../src/gateway/authorize.js';
import type { ShutterNode } from '../src/node.js';
import { commentIdFor, commentState, makePost } from './fixtures/comments.js';
import { makeUser } from './fixtures/social.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';

/**
 * Comments reach the viewers of a post on `post:<id>`, through the SDK on
 * both ends (`client.api.comments.*`). Who may subscribe to `post:` is
 * another capability's rule; this node lets anyone, so the test is about
 * what the comments capability publishes.
 */
describe('comments live on the post stream', () => {
  let node: ShutterNode;
  const clients: ShutterClient[] = [];
  beforeAll(async () => {
    node = await startTestNode('ws', {}, undefined, {
      authorize: (userId, stream) => streamKind(stream) === 'post' || defaultAuthorizer(userId, stream),
    });
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

  it('a viewer gets each new comment and reply hydrated, and one comment_deleted per deleted thread', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const viewer = await makeUser(node);
    const postId = await makePost(node, alice);
    const inbox = new Inbox<CommentEvent>();
    const v = connect(viewer.id);
    const sub = v.subscribe<CommentEvent>(postStream(postId), (e) => inbox.push(e));
    await new Promise((resolve) => sub.on('subscribed', resolve));

    const b = connect(bob.id);
    const top = commentIdFor(postId);
    const { comment } = await b.api.comments.add({
      id: postId,
      commentId: top,
      text: `hi @${alice.username}`,
    });
    const [first] = await inbox.take(1);
    expect(first?.stream).toBe(`post:${postId}`);
    expect(first?.data).toEqual({ type: 'comment', comment });
    expect(comment).toMatchObject({ id: top, author: { id: bob.id }, mentions: [{ id: alice.id }] });

    const a = connect(alice.id);
    const reply = (
      await a.api.comments.add({ id: postId, commentId: commentIdFor(postId), text: 'thanks', parentId: top })
    ).comment;
    const [second] = await inbox.take(1);
    expect(second?.data).toEqual({ type: 'comment', comment: reply });
    expect(reply.parentId).toBe(top);

    // A resend over the socket (no key needed: the id makes it idempotent) answers the stored comment, as it is now.
    const resent = await b.api.comments.add({ id: postId, commentId: top, text: `hi @${alice.username}` });
    expect(resent.comment).toEqual({ ...comment, replyCount: 1 });
    const [again] = await inbox.take(1);
    expect(again?.data).toEqual({ type: 'comment', comment: resent.comment });

    const refused = await b.api.comments.delete({ id: commentIdFor(postId) }).catch((e: unknown) => e);
    expect((refused as ShutterError).code).toBe('not_found');
    expect(await a.api.comments.delete({ id: top })).toEqual({ id: top, postId, deleted: true });
    const [gone] = await inbox.take(1);
    expect(gone?.data).toEqual({ type: 'comment_deleted', id: top, postId });
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 0, live: 0 });

    // Nothing else arrived (the reply went with its thread, without an event of its own).
    const page = await v.api.comments.list({ id: postId });
    expect(page).toEqual({ items: [], nextCursor: null });
    expect(inbox.pending()).toBe(0);
    expect(refused).toBeInstanceOf(ShutterError);
  });
});

/** Stream events as they arrive; `take(n)` waits for the next `n` (5 s at most). */
class Inbox<T> {
  private readonly queue: StreamEvent<T>[] = [];
  private waiter: (() => void) | undefined;

  push(e: StreamEvent<T>): void {
    this.queue.push(e);
    this.waiter?.();
  }

  pending(): number {
    return this.queue.length;
  }

  async take(n: number): Promise<StreamEvent<T>[]> {
    const deadline = Date.now() + 5000;
    while (this.queue.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} event(s), have ${this.queue.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.splice(0, n);
  }
}
