/**
 * Helpers for the cluster integration tests: real node processes
 * (fixtures/counter-node.ts) against the NATS and Postgres on this machine,
 * each run with its own subject prefix, KV bucket and schema, removed at the
 * end; a cuttable TCP proxy to partition one node from NATS; a load driver
 * that retries every increment with its idempotency key until acknowledged.
 */
import { appendFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsShardMapStore } from '../src/adapters/nats-shard-map.js';
import { stateStoreMigrations } from '../src/adapters/sql-state-store.js';
import { NodeProcess } from '../src/cli/local-cluster.js';
import { migrate, PgSql } from '../src/sql/index.js';
import type { CounterNodeSettings } from './fixtures/counter-node.js';
import { natsUrl, postgresUrl, uniqueName } from './services.js';

const ENTRY = fileURLToPath(new URL('./fixtures/counter-node.ts', import.meta.url));

export const TEST_TIMINGS = {
  heartbeatMs: 250,
  leaseMs: 1500,
  handoffTimeoutMs: 5000,
  sweepAfterMs: 6000,
  settleMs: 300,
};

export type AskResult = { ok: true; value: unknown } | { ok: false; code: string; message: string };
export interface AskRequest {
  id: string;
  msg: 'inc' | 'get' | 'echo';
  key?: string;
  timeoutMs?: number;
}

export class TestNode {
  constructor(
    readonly id: string,
    readonly proc: NodeProcess,
    readonly port: number,
  ) {}

  get alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  async ask(requests: AskRequest[]): Promise<AskResult[]> {
    const res = await fetch(`http://127.0.0.1:${this.port}/ask`, {
      method: 'POST',
      body: JSON.stringify({ requests }),
    });
    if (res.status !== 200) throw new Error(`node ${this.id} answered ${res.status}`);
    return ((await res.json()) as { results: AskResult[] }).results;
  }

  async stats(): Promise<{
    cluster: Record<string, number | string | boolean>;
    system: Record<string, unknown>;
  }> {
    return (await fetch(`http://127.0.0.1:${this.port}/stats`)).json() as never;
  }

  async locate(
    id: string,
  ): Promise<{ shard: number; location: { kind: string; node?: string; epoch?: number } }> {
    return (await fetch(`http://127.0.0.1:${this.port}/locate?id=${encodeURIComponent(id)}`)).json() as never;
  }
}

/** A TCP proxy to NATS that can be cut (traffic paused both ways, sockets kept open) and healed. */
export class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private isCut = false;
  port = 0;

  async start(target: { host: string; port: number }): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
        if (this.isCut) s.pause();
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.pause();
  }

  heal(): void {
    this.isCut = false;
    for (const s of this.sockets) s.resume();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

export class TestCluster {
  readonly name = uniqueName('cluster');
  readonly nodes: TestNode[] = [];
  private readonly proxies: CuttableProxy[] = [];
  private nc: NatsConnection | undefined;
  private map: NatsShardMapStore | undefined;
  private sql: PgSql | undefined;
  private seq = 0;

  /** `nats`: the NATS the nodes use (default: this machine's; the fault tests bring their own). */
  constructor(private readonly nats = natsUrl) {}

  async setup(): Promise<void> {
    this.sql = new PgSql(postgresUrl, this.name, 2);
    await this.sql.ensureSchema();
    await migrate(this.sql, stateStoreMigrations);
    // Keeps reconnecting: the fault tests stop and restart their NATS under it.
    this.nc = await connect({ servers: this.nats, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    this.map = await NatsShardMapStore.open(this.nc, this.name);
  }

  /** Starts a node process; `viaProxy` routes its NATS traffic through a cuttable proxy. */
  async start(options: { viaProxy?: CuttableProxy; selfFence?: boolean } = {}): Promise<TestNode> {
    const nodeId = `n${++this.seq}_${this.name.slice(-6)}`;
    const url = new URL(this.nats);
    if (options.viaProxy) {
      this.proxies.push(options.viaProxy);
      await options.viaProxy.start({ host: url.hostname, port: Number(url.port || 4222) });
    }
    const settings: CounterNodeSettings = {
      nodeId,
      natsUrl: options.viaProxy ? `nats://127.0.0.1:${options.viaProxy.port}` : this.nats,
      subjectPrefix: this.name,
      bucket: this.name,
      postgresUrl,
      schema: this.name,
      ...TEST_TIMINGS,
      ...(options.selfFence === undefined ? {} : { selfFence: options.selfFence }),
    };
    const proc = new NodeProcess({
      entry: ENTRY,
      args: [JSON.stringify(settings)],
      onEvent: (e) => {
        // CLUSTER_TEST_LOG=file keeps every node event of the run, for post-mortems.
        if (process.env.CLUSTER_TEST_LOG)
          appendFileSync(process.env.CLUSTER_TEST_LOG, `${JSON.stringify({ ...e, node: nodeId })}\n`);
        if (e.event === 'stderr' || e.event === 'exit_failed' || e.event === 'tick_failed') {
          process.stderr.write(`[${nodeId}] ${JSON.stringify(e)}\n`);
        }
      },
    });
    const ready = await proc.ready;
    const node = new TestNode(nodeId, proc, Number(ready.port));
    this.nodes.push(node);
    return node;
  }

  live(): TestNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Shard owners per the KV bucket (the truth every node converges to). */
  async owners(): Promise<Map<number, { owner: string; epoch: number; state: string }>> {
    const out = new Map<number, { owner: string; epoch: number; state: string }>();
    for (const e of await this.map!.list()) {
      if (e.key.startsWith('shard.')) out.set(Number(e.key.slice(6)), e.value as never);
    }
    return out;
  }

  /** Waits until every shard is active on one of `nodes` and each of them owns some. */
  async settled(nodes: TestNode[], timeoutMs = 20_000): Promise<number> {
    const start = Date.now();
    const ids = new Set(nodes.map((n) => n.id));
    for (;;) {
      const owners = await this.owners();
      const recs = [...owners.values()];
      const holders = new Set(recs.map((r) => r.owner));
      if (
        owners.size === 1024 &&
        recs.every((r) => r.state === 'active' && ids.has(r.owner)) &&
        [...ids].every((id) => holders.has(id))
      ) {
        return Date.now() - start;
      }
      if (Date.now() - start > timeoutMs) throw new Error(`cluster did not settle on ${[...ids]}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Reads a counter's durable value straight from Postgres. */
  async stored(id: string): Promise<number> {
    const r = await this.sql!.query<{ state: string }>(
      `SELECT state FROM actor_state WHERE type = 'counter' AND id = $1`,
      [id],
    );
    const row = r.rows[0];
    // The runtime stores `{ state, replies }` (replies: the idempotency window).
    return row ? (JSON.parse(row.state) as { state: { n: number } }).state.n : 0;
  }

  async teardown(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc.stop(5000)));
    for (const p of this.proxies) await p.close();
    await this.map?.destroy().catch(() => {});
    await this.nc?.close();
    await this.sql?.query(`DROP SCHEMA IF EXISTS ${this.name} CASCADE`).catch(() => {});
    await this.sql?.close();
  }
}
