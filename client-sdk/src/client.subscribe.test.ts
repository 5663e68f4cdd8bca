import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefetchInfo, StreamEvent } from './subscription.js';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { sleep, until } from './testing/wait.js';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.start({ historyLimit: 1000 });
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

const STREAM = 'topic:demo';
const seqs = (events: StreamEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(['json', 'msgpack'] as const)('subscriptions over %s', (codec) => {
  it('subscribes fresh and delivers live events in order with their data', async () => {
    const { client } = testClient(server, { codec });
    const events: StreamEvent<{ n: number }>[] = [];
    server.publish(STREAM, { n: 0 }); // before the subscription: not delivered
    const sub = client.subscribe<{ n: number }>(STREAM, (e) => events.push(e));
    expect(sub.state).toBe('subscribing');
    client.connect();
    await until(() => sub.state === 'subscribed');
    for (let n = 1; n <= 5; n++) server.publish(STREAM, { n });
    await until(() => events.length === 5);
    expect(seqs(events)).toEqual([2, 3, 4, 5, 6]);
    expect(events.map((e) => e.data.n)).toEqual([1, 2, 3, 4, 5]);
    expect(sub.position).toEqual({ epoch: events[0]?.epoch, seq: 6 });
    expect(server.current?.frames('sub')[0]).toMatchObject({ stream: STREAM });
    expect(server.current?.frames('sub')[0]?.from).toBeUndefined();
  });

  it('resumes after the socket is killed mid-stream: every event exactly once, in order', async () => {
    const { client } = testClient(server, { codec });
    const events: StreamEvent[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e));
    const statuses: string[] = [];
    sub.on('subscribed', (s) => statuses.push(s.status));
    client.connect();
    await until(() => sub.state === 'subscribed');
    // Publish steadily; kill the socket twice while events flow.
    let published = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 5 && published < 300; i++) server.publish(STREAM, ++published);
    }, 1);
    await until(() => events.length >= 40);
    server.current?.terminate();
    await until(() => server.connections.length === 2 && sub.state === 'subscribed' && events.length >= 120);
    server.current?.terminate();
    await until(() => published === 300);
    clearInterval(timer);
    await until(() => events.length >= 300, 5000, 'all 300 events');
    await sleep(30);
    expect(seqs(events)).toEqual(range(1, 300));
    expect(events.map((e) => e.data)).toEqual(range(1, 300));
    const resumes = server.connections.slice(1).map((c) => c.frames('sub')[0]);
    expect(resumes).toHaveLength(2);
    for (const s of resumes) expect(s?.from?.seq).toBeGreaterThan(0);
    expect(statuses).toEqual(['fresh', 'recovered', 'recovered']);
    for (const c of server.connections) expect(c.invalid).toEqual([]);
  });
});

describe('recovery and refetch', () => {
  it('recovers events published while offline without a refetch', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const refetches: RefetchInfo[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e), { onRefetch: (r) => refetches.push(r) });
    const statuses: string[] = [];
    sub.on('subscribed', (s) => statuses.push(`${s.status}:${s.missed}`));
    client.connect();
    await until(() => sub.state === 'subscribed');
    for (let i = 1; i <= 3; i++) server.publish(STREAM, i);
    await until(() => events.length === 3);
    server.rejectUpgrades = 1000; // keep the client offline while events are published
    server.current?.terminate();
    await until(() => server.upgrades.length >= 2);
    for (let i = 4; i <= 8; i++) server.publish(STREAM, i);
    server.rejectUpgrades = 0;
    await until(() => events.length === 8);
    server.publish(STREAM, 9);
    await until(() => events.length === 9);
    expect(seqs(events)).toEqual(range(1, 9));
    expect(statuses).toEqual(['fresh:0', 'recovered:5']);
    expect(server.current?.frames('sub')[0]?.from).toEqual({ epoch: events[0]?.epoch, seq: 3 });
    expect(refetches).toEqual([]);
  });

  it('tells the app to refetch when the history no longer reaches, then continues from the new position', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const refetches: RefetchInfo[] = [];
    const onEvent: RefetchInfo[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e), { onRefetch: (r) => refetches.push(r) });
    sub.on('refetch', (r) => onEvent.push(r));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, 1);
    server.publish(STREAM, 2);
    await until(() => events.length === 2);
    const epoch = events[0]?.epoch;
    server.rejectUpgrades = 1000; // keep the client offline while events are published
    server.current?.terminate();
    await until(() => server.upgrades.length >= 2);
    for (let i = 3; i <= 20; i++) server.publish(STREAM, i);
    server.streams.trim(STREAM, 5); // history now holds 16..20 only
    server.rejectUpgrades = 0;
    await until(() => refetches.length === 1);
    expect(refetches[0]).toEqual({ stream: STREAM, epoch, seq: 20, previous: { epoch, seq: 2 } });
    expect(onEvent).toEqual(refetches);
    server.publish(STREAM, 21);
    await until(() => events.length === 3);
    expect(seqs(events)).toEqual([1, 2, 21]);
    expect(sub.position).toEqual({ epoch, seq: 21 });
  });

  it('refetches when the stream epoch changed while offline', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const refetches: RefetchInfo[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e), { onRefetch: (r) => refetches.push(r) });
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, 'old');
    await until(() => events.length === 1);
    server.streams.resetEpoch(STREAM);
    server.current?.terminate();
    await until(() => refetches.length === 1);
    expect(refetches[0]?.epoch).not.toBe(events[0]?.epoch);
    expect(refetches[0]?.seq).toBe(0);
    server.publish(STREAM, 'new');
    await until(() => events.length === 2);
    expect(events[1]).toMatchObject({ seq: 1, data: 'new', epoch: refetches[0]?.epoch });
  });
});

describe('gaps and duplicates on a live connection', () => {
  it('drops duplicates (seq ≤ last)', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e));
    client.connect();
    await until(() => sub.state === 'subscribed');
    const e1 = server.publish(STREAM, 1);
    const e2 = server.publish(STREAM, 2);
    server.deliver(e1);
    server.deliver(e2);
    server.publish(STREAM, 3);
    await until(() => events.length >= 3);
    await sleep(30);
    expect(seqs(events)).toEqual([1, 2, 3]);
    expect(server.current?.frames('sub')).toHaveLength(1);
  });

  it('never delivers across a gap: resubscribes from the last position and recovers the missing events', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, 1);
    server.publish(STREAM, 2);
    await until(() => events.length === 2);
    // Events 3 and 4 are "lost" on the way; 5 arrives.
    server.streams.append(STREAM, 3);
    server.streams.append(STREAM, 4);
    server.publish(STREAM, 5);
    await until(() => events.length === 5);
    server.publish(STREAM, 6);
    await until(() => events.length === 6);
    expect(seqs(events)).toEqual(range(1, 6));
    const conn = server.current;
    expect(conn?.frames('unsub')).toHaveLength(1);
    expect(conn?.frames('sub').map((s) => s.from?.seq)).toEqual([undefined, 2]);
    expect(server.connections).toHaveLength(1);
  });
});

describe('reordered events', () => {
  it('holds events past a hole briefly and delivers them in order when the hole fills, without resubscribing', async () => {
    const { client } = testClient(server, { reorderWindowMs: 2000 });
    const events: StreamEvent[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish(STREAM, 1);
    const e2 = server.streams.append(STREAM, 2);
    const e3 = server.streams.append(STREAM, 3);
    const e4 = server.publish(STREAM, 4); // arrives first, like two writers racing
    server.deliver(e3);
    await sleep(30);
    expect(seqs(events)).toEqual([1]);
    server.deliver(e2);
    server.deliver(e4); // a late duplicate
    server.publish(STREAM, 5);
    await until(() => events.length === 5);
    await sleep(30);
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5]);
    expect(server.current?.frames('sub')).toHaveLength(1);
    expect(server.current?.frames('unsub')).toHaveLength(0);
  });
});

describe('unsubscribe and failures', () => {
  it('unsubscribe() stops delivery, sends unsub, and is not resumed after a reconnect', async () => {
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    const sub = client.subscribe(STREAM, (e) => events.push(e));
    client.connect();
    await until(() => sub.state === 'subscribed');
    await sub.unsubscribe();
    expect(sub.state).toBe('unsubscribed');
    expect(server.current?.frames('unsub')).toEqual([expect.objectContaining({ stream: STREAM })]);
    server.publish(STREAM, 1);
    server.current?.terminate();
    await until(() => server.connections.length === 2 && client.state === 'connected');
    await sleep(30);
    expect(server.current?.frames('sub')).toHaveLength(0);
    expect(events).toEqual([]);
    expect(client.getSubscription(STREAM)).toBeUndefined();
  });

  it('ends the subscription and calls onError on a permanent error (forbidden)', async () => {
    const { client, errors } = testClient(server);
    client.connect();
    await client.ready();
    server.onSubscribe = (sub) =>
      sub.stream === 'user:42:inbox'
        ? { error: { code: 'forbidden', message: 'not your inbox' } }
        : undefined;
    const failures: string[] = [];
    const sub = client.subscribe('user:42:inbox', () => {}, { onError: (e) => failures.push(e.code) });
    await until(() => failures.length === 1);
    expect(failures).toEqual(['forbidden']);
    expect(sub.state).toBe('unsubscribed');
    expect(errors.map((e) => e.kind)).toContain('subscription');
  });

  it('refuses invalid stream names and double subscriptions at once', () => {
    const { client } = testClient(server);
    expect(() => client.subscribe('Not A Stream', () => {})).toThrow(
      expect.objectContaining({ code: 'invalid_stream' }),
    );
    client.subscribe(STREAM, () => {});
    expect(() => client.subscribe(STREAM, () => {})).toThrow(
      expect.objectContaining({ code: 'already_subscribed' }),
    );
  });

  it('resumes from an app-kept position given as `from`', async () => {
    for (let i = 1; i <= 4; i++) server.streams.append(STREAM, i);
    const { epoch } = server.streams.position(STREAM);
    const { client } = testClient(server);
    const events: StreamEvent[] = [];
    client.subscribe(STREAM, (e) => events.push(e), { from: { epoch, seq: 2 } });
    client.connect();
    await until(() => events.length === 2);
    expect(seqs(events)).toEqual([3, 4]);
  });
});
