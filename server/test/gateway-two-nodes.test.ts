import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { deleteNamespaceStreams, natsUrl, postgresUrl, redisUrl, uniqueName } from './services.js';

const secret = 'two-node-test-secret-0123456789abcdef';
// With a configured secret the admin API needs ADMIN_TOKEN (no loopback fallback).
const adminToken = 'two-node-test-admin-token-0123456789abcdef';
const namespace = uniqueName('gw')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);

async function publish(node: NodeProcess, stream: string, data: unknown): Promise<{ seq: number }> {
  const r = await fetch(`${node.url}/v1/admin/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ stream, data }),
  });
  if (!r.ok) throw new Error(`publish failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as { seq: number };
}

describe.each(['ws', 'uws'] as const)('two nodes sharing NATS and Redis (%s)', (transport) => {
  let a: NodeProcess;
  let b: NodeProcess;
  const env = {
    TRANSPORT: transport,
    NATS_URL: natsUrl,
    REDIS_URL: redisUrl,
    NAMESPACE: `${namespace}_${transport}`.slice(0, 32),
    AUTH_JWT_SECRET: secret,
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: postgresUrl,
  };
  beforeAll(async () => {
    [a, b] = await Promise.all([NodeProcess.start(env), NodeProcess.start(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${env.NAMESPACE}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${env.NAMESPACE} CASCADE`);
    await admin.close();
    await deleteNamespaceStreams(env.NAMESPACE);
  });

  it('a subscriber whose node is killed resumes on the other node without a gap', async () => {
    const token = (await new HsMinter(new TextEncoder().encode(secret)).mint('walker', 600)).token;
    const stream = 'topic:failover';
    const onA = await RawClient.open(a.wsUrl, token);
    const sub = (await onA.call({ t: 'sub', stream })) as { result: { epoch: string; seq: number } };
    expect(sub.result.seq).toBe(0);

    // Published on B, delivered live on A through NATS.
    for (let i = 1; i <= 40; i++) await publish(b, stream, { i });
    await onA.next((m) => m.t === 'ev' && m.seq === 40);

    // A dies mid-stream while B keeps publishing.
    const publishing = (async () => {
      for (let i = 41; i <= 120; i++) await publish(b, stream, { i });
    })();
    await onA.next((m) => m.t === 'ev' && m.seq >= 45);
    await a.kill('SIGKILL');
    await onA.waitClosed();
    const seen = onA.events(stream);
    const last = seen[seen.length - 1]!;
    await publishing;

    const onB = await RawClient.open(b.wsUrl, token);
    const res = await onB.call({ t: 'sub', stream, from: { epoch: last.epoch, seq: last.seq } });
    expect(res).toMatchObject({
      t: 'res',
      result: { status: 'recovered', missed: 120 - last.seq, seq: 120 },
    });
    await onB.next((m) => m.t === 'ev' && m.seq === 120);
    const all = [...seen, ...onB.events(stream)];
    expect(all.map((e) => e.seq)).toEqual([...Array(120).keys()].map((i) => i + 1));
    expect(all.map((e) => (e.data as { i: number }).i)).toEqual([...Array(120).keys()].map((i) => i + 1));
    onB.close();
  });
});
