import type { ReqMessage, ShutterError } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LikeState, likeToggle } from './likes.js';
import type { FakeConnection } from './testing/fake-server.js';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { until } from './testing/wait.js';

const POST = '019a0000-0000-7000-8000-000000000001';

let server: FakeServer;
/** Requests held by the test, answered when it says (the fake server sends nothing for them). */
let held: { req: ReqMessage; conn: FakeConnection }[];
beforeEach(async () => {
  server = await FakeServer.start();
  held = [];
  server.muteMethods.add('likes.like').add('likes.unlike');
  server.onRequest = (req, conn) => {
    held.push({ req, conn });
    return { result: {} };
  };
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

function answer(i: number, reply: { liked: boolean; likeCount: number } | { code: string }) {
  const h = held[i]!;
  if ('code' in reply) h.conn.send({ t: 'err', id: h.req.id, code: reply.code, message: 'refused' });
  else h.conn.send({ t: 'res', id: h.req.id, result: { postId: POST, ...reply } });
}

function setup(initial: LikeState) {
  const { client } = testClient(server);
  client.connect();
  const shown: { state: LikeState; error?: string }[] = [];
  const set = likeToggle(client.api, POST, initial, (state, error) =>
    shown.push(error === undefined ? { state } : { state, error: (error as ShutterError).code }),
  );
  return { set, shown };
}

describe('likeToggle', () => {
  it('shows the new state at once, then the count the server answers', async () => {
    const { set, shown } = setup({ liked: false, likeCount: 4 });
    const done = set(true);
    expect(shown).toEqual([{ state: { liked: true, likeCount: 5 } }]);
    await until(() => held.length === 1);
    expect(held[0]!.req).toMatchObject({ method: 'likes.like', params: { id: POST } });
    answer(0, { liked: true, likeCount: 9 }); // others liked it meanwhile
    expect(await done).toEqual({ liked: true, likeCount: 9 });
    expect(shown[1]).toEqual({ state: { liked: true, likeCount: 9 } });

    const undo = set(false);
    expect(shown[2]).toEqual({ state: { liked: false, likeCount: 8 } });
    await until(() => held.length === 2);
    expect(held[1]!.req.method).toBe('likes.unlike');
    answer(1, { liked: false, likeCount: 8 });
    expect(await undo).toEqual({ liked: false, likeCount: 8 });
    expect(shown).toHaveLength(4);
  });

  it('rolls back to the state before and reports the error', async () => {
    const { set, shown } = setup({ liked: true, likeCount: 1 });
    const done = set(false);
    expect(shown).toEqual([{ state: { liked: false, likeCount: 0 } }]);
    await until(() => held.length === 1);
    answer(0, { code: 'not_found' });
    await expect(done).rejects.toMatchObject({ code: 'not_found' });
    expect(shown[1]).toEqual({ state: { liked: true, likeCount: 1 }, error: 'not_found' });
  });

  it('with taps overlapping, only the newest outcome is shown; a failure falls back to what was confirmed', async () => {
    const { set, shown } = setup({ liked: false, likeCount: 5 });
    const first = set(true);
    const second = set(false);
    expect(shown.map((s) => s.state)).toEqual([
      { liked: true, likeCount: 6 },
      { liked: false, likeCount: 5 },
    ]);
    await until(() => held.length === 2);
    answer(0, { liked: true, likeCount: 6 });
    expect(await first).toEqual({ liked: true, likeCount: 6 });
    expect(shown).toHaveLength(2); // superseded: the screen stays on the newest tap
    answer(1, { code: 'unavailable' });
    await expect(second).rejects.toMatchObject({ code: 'unavailable' });
    // The like went through, the unlike did not: the screen shows the like.
    expect(shown[2]).toEqual({ state: { liked: true, likeCount: 6 }, error: 'unavailable' });
  });
});
