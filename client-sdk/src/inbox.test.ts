import type { ReqMessage } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInbox, type InboxEvent, type Notification } from './inbox.js';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { sleep, until } from './testing/wait.js';

const STREAM = 'user:alice:inbox';
let server: FakeServer;
/** What `notifications.list` answers next (newest first), and every `notifications.shown` the client sent. */
let page: Notification[];
let shownReports: string[][];
let lists: number;

beforeEach(async () => {
  server = await FakeServer.start({ historyLimit: 100 });
  page = [];
  shownReports = [];
  lists = 0;
  server.onRequest = (req: ReqMessage) => {
    if (req.method === 'notifications.list') {
      lists++;
      return { result: { items: page, nextCursor: null, unreadCount: page.filter((n) => !n.read).length } };
    }
    if (req.method === 'notifications.shown') {
      shownReports.push((req.params as { ids: string[] }).ids);
      return { result: { updated: 0 } };
    }
    return undefined;
  };
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

const note = (id: string, extra: Partial<Notification> = {}): Notification => ({
  id,
  type: 'like',
  actors: [],
  count: 1,
  text: `${id} liked your photo`,
  postId: null,
  commentId: null,
  snippet: null,
  createdAt: 1,
  updatedAt: 1,
  version: 1,
  read: false,
  seen: false,
  ...extra,
});
const live = (n: Notification) =>
  server.publish(STREAM, { type: 'notification', notification: n, unreadCount: 1 } satisfies InboxEvent);

describe('createInbox', () => {
  it('shows what arrived while away (oldest first), then live ones, each once; reports them in one batch', async () => {
    const { client } = testClient(server);
    page = [note('n3'), note('n2', { seen: true }), note('n1')];
    const shown: string[] = [];
    const events: InboxEvent[] = [];
    const inbox = createInbox(
      client,
      'alice',
      (n) => shown.push(`${n.id}@${n.version}`),
      (e) => events.push(e),
    );
    client.connect();
    await until(() => shown.length === 2);
    expect(shown).toEqual(['n1@1', 'n3@1']);

    live(note('n3')); // the same one again: not shown twice
    live(note('n4'));
    live(note('n4', { version: 2, count: 2 })); // folded: shown again, to replace it
    live(note('n4')); // an older copy: not
    inbox.markShown(['n5']); // the app showed it from a push
    live(note('n5'));
    server.publish(STREAM, { type: 'notification.removed', id: 'n9', unreadCount: 0 } satisfies InboxEvent);
    await until(() => events.length === 6);
    expect(shown).toEqual(['n1@1', 'n3@1', 'n4@1', 'n4@2']);
    expect(events.at(-1)).toEqual({ type: 'notification.removed', id: 'n9', unreadCount: 0 });
    await until(() => shownReports.length > 0);
    await sleep(300);
    expect(shownReports.flat().sort()).toEqual(['n1', 'n3', 'n4', 'n5']);
    expect(shownReports.length).toBeLessThanOrEqual(2);
  });

  it('after a gap it refetches and shows only what is new; a resume that recovers asks nothing', async () => {
    const { client } = testClient(server);
    const shown: string[] = [];
    const inbox = createInbox(client, 'alice', (n) => shown.push(n.id));
    client.connect();
    await until(() => inbox.subscription.state === 'subscribed' && lists === 1);
    live(note('a'));
    await until(() => shown.length === 1);

    // Away briefly: the history still reaches, the missed event is replayed, no list call.
    server.current?.terminate();
    live(note('b'));
    await until(() => shown.length === 2 && inbox.subscription.state === 'subscribed');
    expect(lists).toBe(1);

    // Away long: the history no longer reaches, the inbox refetches the page.
    // The server refuses the reconnects until the events are in and the
    // history trimmed, so a fast reconnect cannot come back before them.
    server.rejectUpgrades = Number.MAX_SAFE_INTEGER;
    server.current?.terminate();
    await until(() => inbox.subscription.state === 'subscribing');
    for (const id of ['c', 'd', 'e']) live(note(id));
    server.streams.trim(STREAM, 1);
    page = [note('e'), note('d'), note('c'), note('b'), note('a')];
    server.rejectUpgrades = 0;
    await until(() => lists === 2 && shown.length === 5);
    await sleep(50);
    // (the newest event may come live before the page: each is shown once either way)
    expect([...shown].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
