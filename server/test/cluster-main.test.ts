import { uuidv7 } from '@shutter/actors';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { deleteNamespaceStreams, natsUrl, postgresUrl, redisUrl, uniqueName } from './services.js';

// The shipped node (server/src/main.ts) with CLUSTER=true, as `npm run
// cluster` starts it: the composition in node.ts (ClusterNode over the NATS
// bus and KV, actors on Postgres, metrics, drain on SIGTERM), not the test
// fixture that cluster.test.ts runs its fault scenarios on.
const secret = 'cluster-main-test-secret-0123456789abcdef';
const namespace = uniqueName('cm')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);
const SHARDS = 64;
const env = {
  CLUSTER: 'true',
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  DATABASE_URL: postgresUrl,
  NAMESPACE: namespace,
  AUTH_JWT_SECRET: secret,
  SHARD_COUNT: String(SHARDS),
  CLUSTER_HEARTBEAT_MS: '200',
  CLUSTER_LEASE_MS: '1500',
  SHUTDOWN_GRACE_MS: '8000',
  // One user sends ~170 increments a minute here; the write limit is rate-limits-cluster.test.ts's subject.
  RATE_LIMITS: 'write=off',
};

/** A metric's value from the node's /metrics (`name value` or `name{…} value`). */
async function gauge(node: NodeProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the shipped node with CLUSTER=true (two processes over NATS, Postgres, Redis)', () => {
  let a: NodeProcess;
  let b: NodeProcess;
  let token: string;
  beforeAll(async () => {
    [a, b] = await Promise.all([NodeProcess.start(env), NodeProcess.start(env)]);
    token = (await new HsMinter(new TextEncoder().encode(secret)).mint('carol', 600)).token;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${namespace}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
    await admin.close();
    await deleteNamespaceStreams(namespace);
  });

  it('splits the shards between the nodes and publishes the split in /metrics', async () => {
    const split = await until('both nodes to own shards', async () => {
      const [oa, ob] = [
        await gauge(a, 'shutter_cluster_owned_shards'),
        await gauge(b, 'shutter_cluster_owned_shards'),
      ];
      return oa && ob && oa + ob === SHARDS ? [oa, ob] : undefined;
    });
    expect(split[0]! + split[1]!).toBe(SHARDS);
    expect(await gauge(a, 'shutter_cluster_members')).toBe(2);
  });

  it('counts increments sent through both nodes exactly, retries applied once, wherever the actor lives', async () => {
    const [ca, cb] = await Promise.all([RawClient.open(a.wsUrl, token), RawClient.open(b.wsUrl, token)]);
    const counters = Array.from({ length: 8 }, (_, i) => `c${i}`);
    const values = new Map<string, number>();
    try {
      const calls = counters.flatMap((counter) =>
        Array.from({ length: 10 }, (_, i) => {
          const c = i % 2 ? cb : ca;
          const ikey = uuidv7();
          const send = () =>
            c.call({ t: 'req', method: 'system.increment', params: { counter, by: 1 }, ikey });
          // Every increment is sent twice, the retry through the other node.
          return send().then(async (r) => {
            const again = await (c === ca ? cb : ca).call({
              t: 'req',
              method: 'system.increment',
              params: { counter, by: 1 },
              ikey,
            });
            return [r, again] as const;
          });
        }),
      );
      for (const [first, retry] of await Promise.all(calls)) {
        expect(first).toMatchObject({ t: 'res' });
        expect(retry).toMatchObject({ t: 'res' });
        expect((retry as { result: unknown }).result).toEqual((first as { result: unknown }).result);
        const { counter, value } = (first as { result: { counter: string; value: number } }).result;
        values.set(counter, Math.max(values.get(counter) ?? 0, value));
      }
      expect([...values.values()]).toEqual(counters.map(() => 10));
      // Both nodes served asks for actors the other one hosts: they crossed NATS.
      expect(await gauge(a, 'shutter_cluster_routed_remote_total')).toBeGreaterThan(0);
      expect(await gauge(b, 'shutter_cluster_routed_remote_total')).toBeGreaterThan(0);
    } finally {
      ca.close();
      cb.close();
    }
  });

  it('SIGTERM drains a node: it exits 0 after handing its shards off, and the other keeps every count', async () => {
    const exit = await b.kill('SIGTERM');
    expect(exit).toBe(0);
    expect(b.output.join('')).not.toMatch(/drain failed/);
    await until('the survivor to own every shard', async () =>
      (await gauge(a, 'shutter_cluster_owned_shards')) === SHARDS ? true : undefined,
    );
    const c = await RawClient.open(a.wsUrl, token);
    try {
      for (let i = 0; i < 8; i++) {
        const r = await c.call({
          t: 'req',
          method: 'system.increment',
          params: { counter: `c${i}`, by: 1 },
          ikey: uuidv7(),
        });
        expect(r).toMatchObject({ t: 'res', result: { counter: `c${i}`, value: 11 } });
      }
    } finally {
      c.close();
    }
  }, 30_000);
});
