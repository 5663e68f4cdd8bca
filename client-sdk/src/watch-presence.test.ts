import type { PresenceEntry, PresenceEvent } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeConnection, FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { until } from './testing/wait.js';
import { watchPresence } from './watch-presence.js';

const ME = 'alice';
const STREAM = `presence:${ME}`;
const u = (id: string, v: number, online: boolean): PresenceEntry => ({
  id,
  online,
  lastSeen: online ? null : 1000 + v,
  v,
});

let server: FakeServer;
/** `presence.following` requests not answered yet: the test answers them. */
let lists: { id: number; conn: FakeConnection }[];
/** Per connection, the direct stream's epoch and seq (as the server numbers each subscription's events). */
const direct = new Map<FakeConnection, { epoch: string; seq: number }>();
let subs: { from: boolean }[];

beforeEach(async () => {
  server = await FakeServer.start();
  lists = [];
  subs = [];
  server.muteMethods.add('presence.following');
  server.onRequest = (req, conn) => {
    if (req.method === 'presence.following') lists.push({ id: req.id, conn });
    return undefined;
  };
  // A direct leased stream, as the server grants `presence:` (protocol.md §6.9): its own epoch, `from` → refetch.
  server.onSubscribe = (msg, conn) => {
    if (msg.stream !== STREAM) return undefined;
    subs.push({ from: msg.from !== undefined });
    const d = { epoch: `d${subs.length}`, seq: 0 };
    direct.set(conn, d);
    conn.subscriptions.add(msg.stream);
    const status = msg.from ? 'refetch' : 'fresh';
    return { result: { epoch: d.epoch, seq: 0, status, missed: 0, leaseMs: 60_000 } };
  };
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

function push(data: PresenceEvent): void {
  const conn = server.current!;
  const d = direct.get(conn)!;
  d.seq++;
  conn.send({ t: 'ev', stream: STREAM, epoch: d.epoch, seq: d.seq, data, ts: Date.now() });
}

function answer(items: PresenceEntry[]): void {
  const l = lists.shift()!;
  l.conn.send({ t: 'res', id: l.id, result: { items, total: items.length, truncated: false } });
}

describe('watchPresence', () => {
  it('reads the list when the stream starts; events that come meanwhile apply on top, the newer v winning', async () => {
    const { client } = testClient(server);
    const seen: Map<string, PresenceEntry>[] = [];
    const w = watchPresence(client, ME, (users) => seen.push(new Map(users)));
    client.connect();
    await until(() => lists.length === 1);
    push({ type: 'presence', users: [u('a', 8, false), u('b', 6, true)], removed: ['c'] });
    answer([u('a', 10, true), u('b', 5, false), u('c', 3, true)]);
    await until(() => seen.length === 1);
    expect(w.users).toEqual(
      new Map([
        ['a', u('a', 10, true)],
        ['b', u('b', 6, true)],
      ]),
    );
    push({ type: 'presence', users: [u('a', 11, false)], removed: [] });
    await until(() => seen.length === 2);
    expect(w.users.get('a')).toEqual(u('a', 11, false));
    expect(seen[0]!.get('a')!.online).toBe(true); // each call got the map as it was
  });

  it('reads the list again on resync, and after a reconnect (the stream keeps no history)', async () => {
    const { client } = testClient(server);
    const w = watchPresence(client, ME, () => {});
    client.connect();
    await until(() => lists.length === 1);
    answer([u('a', 1, true)]);
    await until(() => w.users.size === 1);
    push({ type: 'presence.resync' });
    await until(() => lists.length === 1);
    answer([u('a', 2, false), u('b', 2, true)]);
    await until(() => w.users.size === 2);
    expect(w.users.get('a')!.online).toBe(false);
    server.current!.terminate();
    await until(() => subs.length === 2 && lists.length === 1);
    expect(subs[1]).toEqual({ from: true });
    answer([u('b', 3, false)]);
    await until(() => w.users.size === 1);
    expect([...w.users.values()]).toEqual([u('b', 3, false)]);
    await w.unsubscribe();
    expect(w.subscription.state).toBe('unsubscribed');
  });
});
