import { newId, type PostCountsEvent, postStream } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { sleep, until } from './testing/wait.js';
import { watchPost } from './watch-post.js';

const LEASE_MS = 200;
const POST = newId(3);
const STREAM = postStream(POST);
const counts = (likes: number, viewers = 1): PostCountsEvent => ({
  type: 'counts',
  likes,
  comments: 0,
  viewers,
});

let server: FakeServer;
/** Renewals the fake server answered, with when. */
let renewals: number[];
/** When set, renewals are refused with this code (and so is any new `sub`). */
let refuse: string | undefined;

/** The fake server grants `post:` streams under a lease, as the real one does (protocol.md §6.9). */
beforeEach(async () => {
  server = await FakeServer.start();
  renewals = [];
  refuse = undefined;
  server.onSubscribe = (msg, conn) => {
    if (!msg.stream.startsWith('post:')) return undefined;
    if (refuse) return { error: { code: refuse, message: 'refused' } };
    if (conn.subscriptions.has(msg.stream)) {
      renewals.push(Date.now());
      return { result: { status: 'renewed', leaseMs: LEASE_MS } };
    }
    conn.subscriptions.add(msg.stream);
    const { result, replay } = server.streams.subscribe(msg.stream, msg.from);
    // After the answer, which the server sends once this returns.
    queueMicrotask(() => {
      for (const ev of replay) conn.send(ev);
    });
    return { result: { ...result, leaseMs: LEASE_MS } };
  };
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

/** Ends the lease of the current connection's subscription, as the server's sweep does. */
function lapse(): void {
  const conn = server.current!;
  conn.subscriptions.delete(STREAM);
  conn.send({ t: 'notice', kind: 'lease_expired', stream: STREAM });
}

describe('watchPost', () => {
  it('hands on counts only, and renews the lease at about half its length while watched', async () => {
    const { client } = testClient(server);
    const got: PostCountsEvent[] = [];
    const sub = watchPost(client, POST, (c) => got.push(c));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, { type: 'comment', id: 'x' });
    server.publish(STREAM, counts(3));
    await until(() => got.length === 1);
    expect(got).toEqual([counts(3)]);
    const since = Date.now();
    await sleep(5 * LEASE_MS);
    const n = renewals.filter((t) => t >= since).length;
    expect(n).toBeGreaterThanOrEqual(5);
    expect(n).toBeLessThanOrEqual(11);
    // Renewals carry no position: they are not resubscriptions.
    expect(
      server
        .current!.frames('sub')
        .slice(1)
        .every((s) => s.from === undefined),
    ).toBe(true);
    expect(sub.state).toBe('subscribed');
    await sub.unsubscribe();
    const stopped = renewals.length;
    await sleep(3 * LEASE_MS);
    expect(renewals.length).toBe(stopped);
    expect(server.current!.frames('unsub')).toHaveLength(1);
    expect(server.current!.invalid).toEqual([]);
  });

  it('subscribes again from its position after lease_expired, missing nothing, and renews again', async () => {
    const { client } = testClient(server);
    const got: PostCountsEvent[] = [];
    const sub = watchPost(client, POST, (c) => got.push(c));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, counts(1));
    await until(() => got.length === 1);
    lapse();
    // Published while the subscription is gone: comes back in the resubscribe's replay.
    server.publish(STREAM, counts(2));
    await until(() => server.current!.frames('sub').some((s) => s.from !== undefined));
    const resub = server.current!.frames('sub').find((s) => s.from !== undefined)!;
    expect(resub.from).toMatchObject({ seq: 1 });
    await until(() => got.length === 2);
    expect(got.map((c) => c.likes)).toEqual([1, 2]);
    const since = Date.now();
    await until(() => renewals.some((t) => t > since), 2 * LEASE_MS, 'a renewal after the lapse');
    expect(sub.state).toBe('subscribed');
  });

  it('takes the view up again on a new connection after a reconnect, and renews there', async () => {
    const { client } = testClient(server);
    const got: PostCountsEvent[] = [];
    const sub = watchPost(client, POST, (c) => got.push(c));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.current!.terminate();
    await until(() => server.connections.length === 2 && sub.state === 'subscribed');
    const second = server.connections[1]!;
    expect(second.subscriptions.has(STREAM)).toBe(true);
    await until(() => second.frames('sub').length >= 2, 2 * LEASE_MS, 'a renewal on the new connection');
    server.publish(STREAM, counts(9));
    await until(() => got.length === 1);
    expect(got).toEqual([counts(9)]);
  });

  it('a refused renewal ends the view with the error', async () => {
    const { client } = testClient(server);
    const errors: string[] = [];
    const sub = watchPost(client, POST, () => {});
    sub.on('error', (e) => errors.push(e.code));
    client.connect();
    await until(() => sub.state === 'subscribed');
    refuse = 'forbidden';
    await until(() => sub.state === 'unsubscribed', 3 * LEASE_MS);
    expect(errors).toEqual(['forbidden']);
    const subs = server.current!.frames('sub').length;
    await sleep(2 * LEASE_MS);
    expect(server.current!.frames('sub')).toHaveLength(subs);
  });
});
