import {
  newId,
  type PresenceEntry,
  type PresenceEvent,
  presenceStream,
  randomShard,
} from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * Presence on a two-node cluster (NATS, Redis, two databases): node A runs
 * in this process and holds the watcher; node B is a real child process,
 * SIGKILLed by the last test. Heartbeats and the dead-node timeout are the
 * defaults (1 s, 3 s), so the time measured after the kill is the one
 * docs/architecture.md quotes; the grace and the update interval are short.
 */
const GRACE = 400;
const UPDATE = 250;
const HEARTBEAT = 1000;
const NODE_TIMEOUT = 3000;
/** When followers see a killed node's users offline at the latest: its users' grace or its detection, then one update. */
const BOUND = Math.max(GRACE, NODE_TIMEOUT + HEARTBEAT) + UPDATE;

const cluster = new DomainCluster('presence', {
  PRESENCE_GRACE_MS: String(GRACE),
  PRESENCE_UPDATE_MS: String(UPDATE),
});
let a: ShutterNode;
let b: NodeProcess;
const sockets: RawClient[] = [];

interface User {
  id: string;
  token: string;
}

async function user(): Promise<User> {
  const id = newId(randomShard());
  await cluster
    .dbOf(id)
    .query('INSERT INTO users (id, username) VALUES ($1, $2)', [id, `pr${id.slice(-12)}`]);
  return { id, token: (await cluster.minter.mint(id, 600)).token };
}

async function connect(u: User, on: 'A' | 'B'): Promise<RawClient> {
  const c = await RawClient.open(on === 'A' ? wsUrl(a) : b.wsUrl, u.token);
  sockets.push(c);
  return c;
}

/** The states of `id` the watcher was sent, in order, with arrival time. */
function statesOf(
  c: RawClient,
  arrived: Map<number, number>,
  id: string,
): (PresenceEntry & { at: number })[] {
  const out: (PresenceEntry & { at: number })[] = [];
  c.messages.forEach((m, i) => {
    if (m.t !== 'ev' || (m.data as PresenceEvent).type !== 'presence') return;
    for (const u of (m.data as Extract<PresenceEvent, { type: 'presence' }>).users)
      if (u.id === id) out.push({ ...u, at: arrived.get(i)! });
  });
  return out;
}

let W: User;
let F: User;
let X: User;
let Y: User;
let watcher: RawClient;
const arrived = new Map<number, number>();
const states = (u: User) => statesOf(watcher, arrived, u.id);

beforeAll(async () => {
  [b] = (await cluster.start(1)) as [NodeProcess];
  a = await startTestNode('ws', { ...cluster.env, NODE_ID: 'presence-a' });
  await cluster.settled([b, { url: a.url } as NodeProcess]);
  [W, F, X, Y] = await Promise.all([user(), user(), user(), user()]);
  for (const x of [F, X, Y]) {
    const r = await fetch(`${a.url}/v1/users/${x.id}/follow`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${W.token}` },
    });
    expect(r.status).toBe(200);
  }
  watcher = await connect(W, 'A');
  watcher.ws.on('message', () => arrived.set(watcher.messages.length - 1, Date.now()));
  expect(await watcher.call({ t: 'sub', stream: presenceStream(W.id) })).toMatchObject({ t: 'res' });
}, 90_000);

afterAll(async () => {
  for (const c of sockets) c.close();
  await a?.shutdown();
  await cluster.teardown();
}, 60_000);

describe('presence across two nodes', () => {
  it('a change on B reaches a watcher on A; moving from B to A within the grace sends nothing', async () => {
    const onB = await connect(F, 'B');
    await until(() => states(F).length === 1, 5000, 'F online, seen from A');
    expect(states(F)[0]).toMatchObject({ online: true });
    onB.close();
    await sleep(GRACE / 4);
    const onA = await connect(F, 'A');
    await sleep(GRACE + 2 * UPDATE + 500);
    expect(states(F)).toHaveLength(1);
    onA.close();
    await until(() => states(F).length === 2, 5000, 'F offline');
    expect(states(F)[1]).toMatchObject({ online: false });
  });

  it('a killed node takes its sockets’ presence with it, within the bound', async () => {
    await connect(X, 'B');
    await connect(Y, 'B');
    await connect(Y, 'A'); // Y is on both: stays online
    await until(() => states(X).length === 1 && states(Y).length === 1, 5000, 'X and Y online');
    // Let a heartbeat of B land after the sessions, as it would in steady state.
    await sleep(HEARTBEAT + 100);
    const killedAt = Date.now();
    await b.kill('SIGKILL');
    await until(() => states(X).length === 2, BOUND + 3000, 'X offline after B died');
    const off = states(X)[1]!;
    const took = off.at - killedAt;
    console.info(
      `presence: node killed → follower sees offline after ${took} ms (grace ${GRACE} ms, heartbeat ${HEARTBEAT} ms, node timeout ${NODE_TIMEOUT} ms, update ${UPDATE} ms; bound ${BOUND} ms)`,
    );
    expect(off.online).toBe(false);
    // Last seen: B's last heartbeat, before the kill.
    expect(off.lastSeen).toBeLessThanOrEqual(killedAt);
    expect(off.lastSeen).toBeGreaterThan(killedAt - HEARTBEAT - 200);
    expect(took).toBeLessThanOrEqual(BOUND + 500);
    expect(took).toBeLessThanOrEqual(GRACE + 5000); // DESIGN "Targets"
    await sleep(UPDATE * 2);
    expect(states(Y)).toHaveLength(1);
    // The store holds A's sessions only (W's watcher and Y), and A alone.
    expect(await a.ports.presence.counts()).toEqual({ sessions: 2, leaving: 0, nodes: 1 });
  });
});
