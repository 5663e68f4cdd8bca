import { createClient, type PresenceWatch, type ShutterClient, watchPresence } from '@shutter/client-sdk';
import { type PresenceEntry, type PresenceEvent, presenceStream } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * Presence on one node (uWS; the in-memory store): W follows F, H and B,
 * has asked to follow the private P, and watches `presence:W` on a raw
 * socket and through the SDK; S follows nobody and watches too. Short
 * timers: a grace of 300 ms, one event per watcher per 150 ms.
 */
const GRACE = 300;
const UPDATE = 150;
/** Long enough for anything still coming to have come: a grace, two intervals and slack. */
const QUIET = GRACE + 2 * UPDATE + 250;

let node: ShutterNode;
let W: TestUser;
let F: TestUser;
let H: TestUser;
let B: TestUser;
let P: TestUser;
let S: TestUser;
/** W's watcher and S's, raw, with each frame's arrival time. */
let w: Watcher;
let s: Watcher;
let sdk: ShutterClient;
let watch: PresenceWatch;
const sockets: RawClient[] = [];

interface Watcher {
  c: RawClient;
  /** Arrival time of `c.messages[i]`, for the frames since it was made. */
  arrived: Map<number, number>;
}

async function online(u: TestUser): Promise<RawClient> {
  const c = await RawClient.open(wsUrl(node), u.token);
  sockets.push(c);
  return c;
}

async function watcher(u: TestUser): Promise<Watcher> {
  const c = await online(u);
  const v: Watcher = { c, arrived: new Map() };
  // After the client's own listener: the frame is in `messages` already.
  c.ws.on('message', () => v.arrived.set(c.messages.length - 1, Date.now()));
  const r = await c.call({ t: 'sub', stream: presenceStream(u.id) });
  expect(r).toMatchObject({ t: 'res', result: { status: 'fresh', seq: 0, leaseMs: 60_000 } });
  return v;
}

/** The presence events a watcher got, with arrival and server times. */
function events(v: Watcher): { data: PresenceEvent; at: number; ts: number }[] {
  const out: { data: PresenceEvent; at: number; ts: number }[] = [];
  v.c.messages.forEach((m, i) => {
    if (m.t === 'ev') out.push({ data: m.data as PresenceEvent, at: v.arrived.get(i)!, ts: m.ts });
  });
  return out;
}

/** The states of `id` a watcher was sent, in order, with arrival time. */
function statesOf(v: Watcher, id: string): (PresenceEntry & { at: number })[] {
  return events(v).flatMap((e) =>
    e.data.type === 'presence'
      ? e.data.users.filter((u) => u.id === id).map((u) => ({ ...u, at: e.at }))
      : [],
  );
}

const removedOf = (v: Watcher, id: string) =>
  events(v).filter((e) => e.data.type === 'presence' && e.data.removed.includes(id)).length;

async function list(u: TestUser) {
  const r = await http(node, u, 'GET', '/v1/presence/following');
  expect(r.status).toBe(200);
  return r.body as { items: PresenceEntry[]; total: number; truncated: boolean };
}

beforeAll(async () => {
  node = await startTestNode('uws', {
    PRESENCE_GRACE_MS: String(GRACE),
    PRESENCE_UPDATE_MS: String(UPDATE),
  });
  [W, F, H, B, S] = (await makeUsers(node, 5)) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  P = await makeUser(node, { private: true });
  for (const x of [F, H, B, P]) {
    const r = await http(node, W, 'PUT', `/v1/users/${x.id}/follow`);
    expect(r.body.state).toBe(x === P ? 'pending' : 'active');
  }
  w = await watcher(W);
  s = await watcher(S!);
  sdk = createClient({
    url: wsUrl(node),
    getToken: () => devToken(node, W.id),
    WebSocket: WebSocket as never,
  });
  watch = watchPresence(sdk, W.id, () => {});
  sdk.connect();
  await until(() => watch.subscription.state === 'subscribed', 5000, 'the SDK watching');
}, 60_000);

afterAll(async () => {
  sdk?.disconnect();
  for (const c of sockets) c.close();
  await node?.shutdown();
});

describe('presence on one node', () => {
  it('connect: followers see online; a quick reconnect sends nothing; a disconnect, one offline event after the grace', async () => {
    const f1 = await online(F);
    await until(() => statesOf(w, F.id).length === 1, 3000, 'F online');
    expect(statesOf(w, F.id)[0]).toMatchObject({ online: true, lastSeen: null });
    await until(() => watch.users.get(F.id)?.online, 3000, 'the SDK map to show F online');

    // A quick reconnect (well within the grace): nothing.
    f1.close();
    await sleep(GRACE / 3);
    const f2 = await online(F);
    await sleep(QUIET);
    expect(statesOf(w, F.id)).toHaveLength(1);

    const closedAt = Date.now();
    f2.close();
    await until(() => statesOf(w, F.id).length === 2, 3000, 'F offline');
    const off = statesOf(w, F.id)[1]!;
    expect(off.online).toBe(false);
    expect(off.lastSeen).toBeGreaterThanOrEqual(closedAt - 5);
    expect(off.lastSeen).toBeLessThanOrEqual(closedAt + 100);
    expect(off.v).toBeGreaterThan(statesOf(w, F.id)[0]!.v);
    expect(off.at - closedAt).toBeGreaterThanOrEqual(GRACE);
    await sleep(QUIET);
    expect(statesOf(w, F.id)).toHaveLength(2);
    await until(() => watch.users.get(F.id)?.online === false, 3000, 'the SDK map to show F offline');

    const l = await list(W);
    expect(l.items.find((u) => u.id === F.id)).toEqual({
      id: F.id,
      online: false,
      lastSeen: off.lastSeen,
      v: 0,
    });
    expect(events(s)).toEqual([]);
  });

  it('a watcher gets at most one event per interval, each user’s newest state', async () => {
    const from = events(w).length;
    const burst = await Promise.all([F, H, B].map((u) => online(u)));
    await sleep(20);
    for (const c of burst) c.close();
    await until(
      () => [F, H, B].every((u) => statesOf(w, u.id).at(-1)?.online === false),
      3000,
      'all offline',
    );
    const got = events(w).slice(from);
    for (let i = 1; i < got.length; i++) expect(got[i]!.ts - got[i - 1]!.ts).toBeGreaterThanOrEqual(UPDATE);
    // Online within the first event or two, offline within the last: never more events than changes.
    expect(got.length).toBeLessThanOrEqual(6);
    const l = await list(W);
    expect(l.items.filter((u) => u.online)).toEqual([]);
    expect(l.total).toBe(3);
  });

  it('privacy: hidden looks offline without a last seen, at once; nothing while hidden; shown again, the state', async () => {
    const h = await online(H);
    await until(() => statesOf(w, H.id).at(-1)?.online === true, 3000, 'H online');
    const seenBefore = (await list(W)).items.find((u) => u.id === H.id);
    expect(seenBefore).toMatchObject({ online: true, lastSeen: null });

    expect((await http(node, H, 'PUT', '/v1/presence/settings', { visible: false })).body).toEqual({
      visible: false,
    });
    await until(() => statesOf(w, H.id).at(-1)?.online === false, 3000, 'H hidden');
    expect(statesOf(w, H.id).at(-1)).toMatchObject({ online: false, lastSeen: null });
    expect((await http(node, H, 'GET', '/v1/presence/settings')).body).toEqual({ visible: false });
    // Going away and coming back while hidden: nobody hears of it.
    const n = statesOf(w, H.id).length;
    h.close();
    await sleep(QUIET);
    const h2 = await online(H);
    await sleep(QUIET);
    expect(statesOf(w, H.id)).toHaveLength(n);
    expect((await list(W)).items.find((u) => u.id === H.id)).toMatchObject({ online: false, lastSeen: null });
    // A second PUT changes nothing and sends nothing.
    await http(node, H, 'PUT', '/v1/presence/settings', { visible: false });

    await http(node, H, 'PUT', '/v1/presence/settings', { visible: true });
    await until(() => statesOf(w, H.id).length === n + 1, 3000, 'H shown');
    expect(statesOf(w, H.id).at(-1)).toMatchObject({ online: true, lastSeen: null });
    h2.close();
    await until(() => statesOf(w, H.id).length === n + 2, 3000, 'H offline');
    expect(statesOf(w, H.id).at(-1)?.lastSeen).toBeGreaterThan(0);
    expect(events(s)).toEqual([]);
  });

  it('non-followers and blocked users see nothing; a request shows nothing until approved', async () => {
    const p = await online(P);
    await sleep(QUIET);
    expect(statesOf(w, P.id)).toEqual([]);
    expect((await list(W)).items.map((u) => u.id)).not.toContain(P.id);
    expect((await http(node, P, 'POST', `/v1/me/follow-requests/${W.id}/approve`)).status).toBe(200);
    await until(() => statesOf(w, P.id).length === 1, 3000, 'P shown on approval');
    expect(statesOf(w, P.id)[0]).toMatchObject({ online: true });
    p.close();

    const b = await online(B);
    await until(() => statesOf(w, B.id).at(-1)?.online === true, 3000, 'B online');
    expect((await http(node, B, 'PUT', `/v1/users/${W.id}/block`)).status).toBe(200);
    await until(() => removedOf(w, B.id) === 1, 3000, 'B removed');
    const n = statesOf(w, B.id).length;
    b.close();
    await sleep(QUIET);
    await online(B);
    await sleep(QUIET);
    expect(statesOf(w, B.id)).toHaveLength(n);
    expect((await list(W)).items.map((u) => u.id)).not.toContain(B.id);
    await until(() => !watch.users.has(B.id), 3000, 'B gone from the SDK map');

    // S follows nobody: nothing ever came, its list is empty, and W's stream is not for S.
    expect(events(s)).toEqual([]);
    expect(await list(S)).toEqual({ items: [], total: 0, truncated: false });
    expect(await s.c.call({ t: 'sub', stream: presenceStream(W.id) })).toMatchObject({
      t: 'err',
      code: 'forbidden',
    });
  });

  it('the stream keeps no history: a resume answers refetch in an epoch of its own', async () => {
    const c = await online(W);
    const r = await c.call({ t: 'sub', stream: presenceStream(W.id), from: { epoch: 'old', seq: 7 } });
    expect(r).toMatchObject({ t: 'res', result: { status: 'refetch', seq: 0, missed: 0, leaseMs: 60_000 } });
    const renewed = await c.call({ t: 'sub', stream: presenceStream(W.id) });
    expect(renewed).toMatchObject({ t: 'res', result: { status: 'renewed' } });
  });
});
