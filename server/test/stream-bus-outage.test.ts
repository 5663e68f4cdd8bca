import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { OwnNatsServer } from './helpers/nats-server.js';
import { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { postgresUrl, redisUrl, uniqueName } from './services.js';

/**
 * Issue 8 item 3: events acknowledged while the bus (NATS) was down were
 * never delivered to live subscribers on other nodes, and nobody was told.
 * Two real nodes on a NATS server of this test's own, which it kills and
 * starts again; a subscriber on B, publishes through A's admin API.
 */
const secret = 'bus-outage-test-secret-0123456789abcdef';
const adminToken = 'bus-outage-test-admin-token-0123456789abcdef';
const namespace = uniqueName('bo')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);
const HISTORY = 200;

async function publish(node: NodeProcess, stream: string, data: unknown): Promise<number | undefined> {
  try {
    const r = await fetch(`${node.url}/v1/admin/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ stream, data }),
    });
    if (!r.ok) return undefined;
    return ((await r.json()) as { seq: number }).seq;
  } catch {
    return undefined;
  }
}

describe.each([
  ['ws', 14240],
  ['uws', 14241],
] as const)('stream events across a NATS outage (two nodes, %s)', (transport, natsPort) => {
  const nats = new OwnNatsServer(natsPort);
  let a: NodeProcess;
  let b: NodeProcess;
  const env = {
    TRANSPORT: transport,
    NATS_URL: nats.url,
    REDIS_URL: redisUrl,
    NAMESPACE: `${namespace.slice(0, 28)}_${transport}`,
    AUTH_JWT_SECRET: secret,
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: postgresUrl,
    STREAM_HISTORY_SIZE: String(HISTORY),
    // The resume test sends a few hundred frames a second on one connection.
    RATE_CONNECTION_PER_SEC: '10000',
    RATE_CONNECTION_BURST: '10000',
    RATE_USER_PER_SEC: '10000',
    RATE_USER_BURST: '10000',
  };

  beforeAll(async () => {
    await nats.start();
    a = await NodeProcess.start(env);
    b = await NodeProcess.start(env);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await nats.dispose();
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${env.NAMESPACE}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${env.NAMESPACE} CASCADE`);
    await admin.close();
  });

  it('every publish acknowledged during the outage reaches B in order and once, or B is shown the gap at once after reconnect', async () => {
    const token = (await new HsMinter(new TextEncoder().encode(secret)).mint('watcher', 600)).token;
    const near = 'topic:outage_near'; // fewer events during the outage than the history holds
    const far = 'topic:outage_far'; // more than the history holds
    const onB = await RawClient.open(b.wsUrl, token);
    for (const stream of [near, far]) {
      const r = (await onB.call({ t: 'sub', stream })) as { result: { status: string; seq: number } };
      expect(r.result).toMatchObject({ status: 'fresh', seq: 0 });
    }
    const acked: Record<string, number[]> = { [near]: [], [far]: [] };
    const send = async (stream: string, i: number) => {
      const seq = await publish(a, stream, { i });
      if (seq !== undefined) acked[stream]!.push(seq);
    };

    // Before: live through NATS.
    for (let i = 1; i <= 30; i++) {
      await send(near, i);
      await send(far, i);
    }
    await onB.next((m) => m.t === 'ev' && m.stream === near && m.seq === 30, 10_000);
    await onB.next((m) => m.t === 'ev' && m.stream === far && m.seq === 30, 10_000);

    // The outage: A keeps acknowledging (the events are in Redis); nothing crosses the bus.
    await nats.kill();
    const downAt = Date.now();
    for (let i = 31; i <= 30 + 3 * HISTORY; i++) {
      if (i <= 130) await send(near, i);
      await send(far, i);
    }
    const outageNear = acked[near]!.filter((s) => s > 30).length;
    const outageFar = acked[far]!.filter((s) => s > 30).length;
    expect(outageNear).toBe(100);
    expect(outageFar).toBe(3 * HISTORY);
    const beforeUp = onB.events(near).length + onB.events(far).length;

    // NATS comes back; no further publish: B must catch up (or be shown the gap) on its own.
    await nats.start();
    const upAt = Date.now();
    await onB.next((m) => m.t === 'ev' && m.stream === near && m.seq === 130, 15_000);
    const nearDoneAt = Date.now();
    await onB.next((m) => m.t === 'ev' && m.stream === far && m.seq > 30, 15_000);
    const farShownAt = Date.now();

    // After: live again.
    for (let i = 1; i <= 20; i++) {
      await send(near, 130 + i);
      await send(far, 30 + 3 * HISTORY + i);
    }
    const lastNear = acked[near]!.at(-1)!;
    const lastFar = acked[far]!.at(-1)!;
    await onB.next((m) => m.t === 'ev' && m.stream === near && m.seq === lastNear, 15_000);
    await onB.next((m) => m.t === 'ev' && m.stream === far && m.seq === lastFar, 15_000);

    // near: every acknowledged event, in order, once.
    const gotNear = onB.events(near).map((e) => e.seq);
    expect(acked[near]).toEqual([...Array(150).keys()].map((i) => i + 1));
    expect(gotNear).toEqual(acked[near]);
    expect(onB.events(near).map((e) => (e.data as { i: number }).i)).toEqual(gotNear);

    // far: in order and once; what was not delivered lies before a delivered event (a gap the client sees).
    const gotFar = onB.events(far).map((e) => e.seq);
    for (let k = 1; k < gotFar.length; k++) expect(gotFar[k]!).toBeGreaterThan(gotFar[k - 1]!);
    const delivered = new Set(gotFar);
    const maxDelivered = Math.max(...gotFar);
    const unsignalled = acked[far]!.filter((s) => !delivered.has(s) && s > maxDelivered);
    expect(unsignalled).toEqual([]);
    // The gap came right after 30, and resuming from there (§6.5) answers refetch.
    const gapAt = gotFar.indexOf(30) + 1;
    expect(gotFar[gapAt]).toBeGreaterThan(31);
    const epoch = onB.events(far)[0]!.epoch;
    await onB.call({ t: 'unsub', stream: far });
    const again = (await onB.call({ t: 'sub', stream: far, from: { epoch, seq: 30 } })) as {
      result: { status: string; seq: number };
    };
    expect(again.result).toMatchObject({ status: 'refetch', seq: lastFar });

    const measured = {
      outageMs: upAt - downAt,
      ackedDuringOutage: outageNear + outageFar,
      deliveredBeforeNatsBack: beforeUp - 60,
      natsBackToNearCaughtUpMs: nearDoneAt - upAt,
      natsBackToFarGapShownMs: farShownAt - upAt,
      farGap: [gotFar[gapAt - 1], gotFar[gapAt]],
    };
    console.log(`[bus-outage ${transport}] ${JSON.stringify(measured)}`);
    expect(measured.deliveredBeforeNatsBack).toBe(0);
    onB.close();
  }, 180_000);

  it('resuming on B while A publishes: never an event twice (issue 8 item 6), never a hole', async () => {
    const token = (await new HsMinter(new TextEncoder().encode(secret)).mint('resumer', 600)).token;
    const stream = 'topic:resume_race';
    // A second subscriber keeps B's interest in the stream (and its bus subscription) alive.
    const watcher = await RawClient.open(b.wsUrl, token);
    await watcher.call({ t: 'sub', stream });
    const c = await RawClient.open(b.wsUrl, token);
    const first = (await c.call({ t: 'sub', stream })) as { result: { epoch: string; seq: number } };
    const epoch = first.result.epoch;

    let publishing = true;
    let published = 0;
    const publisher = (async () => {
      while (publishing) if ((await publish(a, stream, { n: published + 1 })) !== undefined) published++;
    })();
    const RESUMES = 150;
    let recovered = 0;
    for (let k = 0; k < RESUMES; k++) {
      await new Promise((r) => setTimeout(r, 2 + (k % 5)));
      // The position is taken after the unsub answer: events sent before it count (§6.7).
      await c.call({ t: 'unsub', stream });
      const seen = c.events(stream).map((e) => e.seq);
      const pos = seen.length ? Math.max(...seen) : first.result.seq;
      const r = await c.call({ t: 'sub', stream, from: { epoch, seq: pos } });
      expect(r.t).toBe('res');
      if (r.t === 'res' && (r.result as { status: string }).status === 'recovered') recovered++;
    }
    publishing = false;
    await publisher;
    await c.next((m) => m.t === 'ev' && m.stream === stream && m.seq === published, 15_000);

    const seqs = c.events(stream).map((e) => e.seq);
    const duplicates = seqs.filter((s, k) => k > 0 && s <= Math.max(...seqs.slice(0, k))).length;
    console.log(
      `[resume-race ${transport}] ${JSON.stringify({ resumes: RESUMES, recovered, published, duplicates })}`,
    );
    expect(recovered).toBe(RESUMES);
    expect(duplicates).toBe(0);
    expect(seqs).toEqual([...Array(published).keys()].map((i) => first.result.seq + i + 1));
    watcher.close();
    c.close();
  }, 180_000);
});

describe('a quiet stream with a subscriber keeps its epoch (issue 7)', () => {
  let node: NodeProcess;
  const ns = `${namespace.slice(0, 28)}_ttl`;
  beforeAll(async () => {
    node = await NodeProcess.start({
      REDIS_URL: redisUrl,
      NAMESPACE: ns,
      AUTH_JWT_SECRET: secret,
      ADMIN_TOKEN: adminToken,
      DATABASE_URL: postgresUrl,
      STREAM_HISTORY_TTL_SECONDS: '2',
    });
  }, 60_000);
  afterAll(async () => {
    await node?.kill();
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${ns}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
    await admin.close();
  });

  it('no event for 2.5 TTLs: the next one is in the same epoch and reaches the subscriber as the next seq', async () => {
    const token = (await new HsMinter(new TextEncoder().encode(secret)).mint('quiet', 600)).token;
    const stream = 'topic:quiet_watched';
    const c = await RawClient.open(node.wsUrl, token);
    const sub = (await c.call({ t: 'sub', stream })) as { result: { epoch: string; seq: number } };
    expect(sub.result.seq).toBe(0);
    await new Promise((r) => setTimeout(r, 5000));
    const r = await fetch(`${node.url}/v1/admin/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ stream, data: 'after the quiet' }),
    });
    expect(await r.json()).toEqual({ epoch: sub.result.epoch, seq: 1 });
    const ev = await c.next((m) => m.t === 'ev' && m.stream === stream);
    expect(ev).toMatchObject({ epoch: sub.result.epoch, seq: 1, data: 'after the quiet' });
    c.close();
  }, 60_000);
});
