import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { uuidv7 } from './cluster-workload.js';
import { NodeProcess } from './helpers/node-process.js';
import { OwnedNats } from './helpers/owned-nats.js';
import { RawClient } from './helpers/raw-client.js';
import { postgresUrl, redisUrl, uniqueName } from './services.js';

// The shipped node (server/src/main.ts, CLUSTER=true) on a NATS this file
// owns: keyed `system.increment` calls from several clients through both
// nodes, each retried with the same key through the other node until
// acknowledged, while NATS is killed and restarted on its store, and then on
// an empty one. The checker compares acknowledged increments with the final
// counts. cluster-faults.test.ts runs the same faults on the test node.
const secret = 'cluster-faults-main-secret-0123456789abcdef';
const namespace = uniqueName('cfm')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);
const nats = new OwnedNats();
const log = (msg: string) => process.stdout.write(`    [faults-main] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client per counter, with a socket to each node; increments retried through the other node. */
class Clients {
  readonly acked = new Map<string, number>();
  readonly ackTimes = new Map<string, number[]>();
  resent = 0;
  /** Why attempts failed, by error code. */
  readonly failures = new Map<string, number>();
  private running = true;
  private done: Promise<void>;
  constructor(
    readonly counters: string[],
    sockets: () => Promise<RawClient[]>,
  ) {
    this.done = Promise.all(counters.map((c) => this.run(c, sockets))).then(() => {});
  }
  private async run(counter: string, sockets: () => Promise<RawClient[]>) {
    let socks = await sockets();
    let turn = 0;
    while (this.running) {
      const ikey = uuidv7();
      for (;;) {
        const s = socks[turn++ % socks.length]!;
        const r = await s
          .call({ t: 'req', method: 'system.increment', params: { counter, by: 1 }, ikey })
          .catch((e: unknown) => ({ t: 'err', error: String(e) }) as const);
        if (r.t === 'res') {
          this.acked.set(counter, (this.acked.get(counter) ?? 0) + 1);
          this.ackTimes.set(counter, [...(this.ackTimes.get(counter) ?? []), Date.now()]);
          break;
        }
        this.resent++;
        const code =
          r.t === 'err' ? String((r as { code?: unknown }).code ?? (r as { error?: unknown }).error) : r.t;
        this.failures.set(code.slice(0, 60), (this.failures.get(code.slice(0, 60)) ?? 0) + 1);
        if (socks.some((x) => x.closed)) socks = await sockets().catch(() => socks);
        await sleep(50);
      }
    }
  }
  async stop() {
    this.running = false;
    await this.done;
  }
  gap(from: number): number {
    let worst = 0;
    for (const c of this.counters) {
      const ts = [from, ...(this.ackTimes.get(c) ?? []).filter((t) => t > from)];
      for (let i = 1; i < ts.length; i++) worst = Math.max(worst, ts[i]! - ts[i - 1]!);
    }
    return worst;
  }
}

/** The counter's value: one more increment under a fresh key (retried with it until answered), minus one. */
async function readFinal(c: RawClient, counter: string): Promise<number> {
  const ikey = uuidv7();
  for (let i = 0; ; i++) {
    const r = await c.call({ t: 'req', method: 'system.increment', params: { counter, by: 1 }, ikey });
    if (r.t === 'res') return (r as { result: { value: number } }).result.value - 1;
    log(`final read of ${counter}: ${JSON.stringify(r)}`);
    if (i >= 10) throw new Error(`no final value for ${counter}`);
    await sleep(200);
  }
}

describe('shipped nodes (CLUSTER=true) on a NATS the test kills and empties', () => {
  let a: NodeProcess;
  let b: NodeProcess;
  let token: string;
  beforeAll(async () => {
    await nats.start();
    const env = {
      CLUSTER: 'true',
      NATS_URL: nats.url,
      REDIS_URL: redisUrl,
      DATABASE_URL: postgresUrl,
      NAMESPACE: namespace,
      AUTH_JWT_SECRET: secret,
      SHARD_COUNT: '64',
      CLUSTER_HEARTBEAT_MS: '250',
      CLUSTER_LEASE_MS: '1500',
      // One user increments as fast as it can; the write limit is rate-limits-cluster.test.ts's subject.
      RATE_LIMITS: 'write=off',
    };
    [a, b] = await Promise.all([NodeProcess.start(env), NodeProcess.start(env)]);
    token = (await new HsMinter(new TextEncoder().encode(secret)).mint('dana', 600)).token;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await nats.destroy();
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${namespace}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
    await admin.close();
  }, 60_000);

  it('keyed system.increment through an outage and a lost bucket: nothing acknowledged lost, nothing applied twice', async () => {
    const counters = Array.from({ length: 8 }, (_, i) => `f${i}`);
    const sockets = async () => Promise.all([RawClient.open(a.wsUrl, token), RawClient.open(b.wsUrl, token)]);
    const opened: RawClient[] = [];
    const tracked = async () => {
      const s = await sockets();
      opened.push(...s);
      return s;
    };
    await sleep(2000);
    const w = new Clients(counters, tracked);
    await sleep(1500);
    const outageAt = Date.now();
    await nats.kill();
    await sleep(3000);
    await nats.restart();
    await sleep(5000);
    const outageGap = w.gap(outageAt);
    log(
      `after the outage: gap ${outageGap} ms, ${[...w.acked.values()].reduce((x, y) => x + y, 0)} acked, ${w.resent} resent`,
    );
    const lostAt = Date.now();
    await nats.kill();
    await sleep(500);
    await nats.restart({ freshStore: true });
    await sleep(8000);
    const lostGap = w.gap(lostAt);
    log(
      `after the lost bucket: gap ${lostGap} ms, ${[...w.acked.values()].reduce((x, y) => x + y, 0)} acked, ${w.resent} resent`,
    );
    await w.stop();
    const check = await RawClient.open(a.wsUrl, token);
    let lost = 0;
    let twice = 0;
    let total = 0;
    try {
      for (const counter of counters) {
        const final = await readFinal(check, counter);
        const acked = w.acked.get(counter) ?? 0;
        total += acked;
        if (final < acked) lost += acked - final;
        if (final > acked) twice += final - acked;
      }
    } finally {
      check.close();
      for (const s of opened) s.close();
    }
    log(`failed attempts by code: ${JSON.stringify(Object.fromEntries(w.failures))}`);
    log(
      `outage 3 s: gap ${outageGap} ms; bucket lost: gap ${lostGap} ms; ${total} acked, ${w.resent} resent, lost ${lost}, twice ${twice}`,
    );
    expect(lost).toBe(0);
    expect(twice).toBe(0);
    expect(total).toBeGreaterThan(0);
  }, 120_000);
});
