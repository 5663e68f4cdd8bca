import { shardOfId } from '@shutter/protocol';
import { Redis } from 'ioredis';
import { HsMinter } from '../../src/auth/tokens.js';
import { PgSql } from '../../src/sql/index.js';
import {
  deleteNamespaceStreams,
  natsUrl,
  postgresUrl,
  postgresUrlB,
  redisUrl,
  testShards,
  uniqueName,
} from '../services.js';
import { NodeProcess } from './node-process.js';

/**
 * A cluster of real node processes for the domain's tests: CLUSTER=true on
 * the local NATS, Redis, and two Postgres databases as two physical shards
 * (`testShards`), a shared JWT secret and /metrics token, short cluster
 * timings; direct connections to both databases to check where rows
 * landed; everything it made dropped by `teardown`.
 */
export class DomainCluster {
  readonly namespace: string;
  readonly secret: string;
  readonly metricsToken: string;
  readonly env: Record<string, string>;
  readonly minter: HsMinter;
  nodes: NodeProcess[] = [];
  /** Logical shards 0–511 (also the home database) and 512–1023. */
  dbA!: PgSql;
  dbB!: PgSql;

  constructor(tag: string, overrides: Record<string, string> = {}) {
    this.namespace = uniqueName(tag)
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 32);
    this.secret = `${tag}-cluster-test-secret-0123456789abcdef`;
    this.metricsToken = `${tag}-cluster-metrics-token-0123456789`;
    this.env = {
      TRANSPORT: 'ws',
      CLUSTER: 'true',
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      DATABASE_URL: postgresUrl,
      DATABASE_SHARDS: testShards,
      NAMESPACE: this.namespace,
      AUTH_JWT_SECRET: this.secret,
      METRICS_TOKEN: this.metricsToken,
      CLUSTER_HEARTBEAT_MS: '250',
      CLUSTER_LEASE_MS: '1500',
      ...overrides,
    };
    this.minter = new HsMinter(new TextEncoder().encode(this.secret));
  }

  /** Starts `count` nodes at once and opens both databases. */
  async start(count = 2): Promise<NodeProcess[]> {
    this.nodes = await Promise.all(Array.from({ length: count }, () => NodeProcess.start(this.env)));
    this.dbA = new PgSql(postgresUrl, this.namespace, 4);
    this.dbB = new PgSql(postgresUrlB, this.namespace, 4);
    return this.nodes;
  }

  /** One more node joining the cluster. */
  async join(): Promise<NodeProcess> {
    const node = await NodeProcess.start(this.env);
    this.nodes.push(node);
    return node;
  }

  /** The database of an id, as `testShards` maps its logical shard. */
  dbOf(id: string): PgSql {
    return (shardOfId(id) ?? 0) < 512 ? this.dbA : this.dbB;
  }

  /** A gauge of a node's /metrics (labels ignored); 0 while it is absent. */
  async gauge(node: NodeProcess, name: string): Promise<number> {
    const r = await fetch(`${node.url}/metrics`, {
      headers: { authorization: `Bearer ${this.metricsToken}` },
    });
    const line = (await r.text())
      .split('\n')
      .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  /** Until every node owns shards and the split has not changed for a second (the join's moves are done). */
  async settled(nodes: NodeProcess[] = this.nodes): Promise<void> {
    const end = Date.now() + 30_000;
    let last = '';
    let stableSince = Date.now();
    for (;;) {
      const split = await Promise.all(nodes.map((n) => this.gauge(n, 'shutter_cluster_owned_shards')));
      const now = split.join('/');
      if (now !== last) [last, stableSince] = [now, Date.now()];
      if (split.every((n) => n > 0) && Date.now() - stableSince >= 1000) return;
      if (Date.now() > end) throw new Error(`cluster did not settle: ${now}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async teardown(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await this.dbA?.close();
    await this.dbB?.close();
    for (const url of [postgresUrl, postgresUrlB]) {
      const admin = new PgSql(url, 'public', 1);
      await admin.query(`DROP SCHEMA IF EXISTS ${this.namespace} CASCADE`);
      await admin.close();
    }
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${this.namespace}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    await deleteNamespaceStreams(this.namespace);
  }
}
