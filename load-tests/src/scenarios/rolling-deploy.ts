import type { ShutterClient } from '@shutter/client-sdk';
import { zero } from '../runner/report/page-spec.js';
import { defineScenario } from '../runner/scenario.js';

const STREAM = 'topic:rolling';

interface Ev {
  i: number;
  sentAt: number;
  phase: 'before' | 'roll' | 'after';
}

/** What the runner tells every VU once the roll is over: `i` of every acknowledged event. */
interface End {
  acked: number[];
}

interface State {
  client: ShutterClient;
}

/**
 * A 3-node local cluster (the scenario's default; `--nodes` changes it)
 * restarted one node at a time under steady traffic, as a rolling deploy
 * does: N SDK clients spread over the nodes subscribe to one stream while
 * the runner publishes to it through whichever node is up. Each node in
 * turn gets the signal (SIGTERM: drain, `going_away`, exit; then it starts
 * again on its port); the runner waits until that node's clients are back
 * before the next. Events lost (must be 0) and twice, sockets that had to
 * reconnect, the settle time per node (signal → every one of its clients
 * back), and the delivery latency during the roll against before it.
 */
export default defineScenario<
  {
    clients: number;
    publishPerSecond: number;
    signal: string;
    warmSeconds: number;
    settleSeconds: number;
    /** Clients know every node's URL (the SDK's list, their own first) and move on when theirs goes away; false: only their own. */
    failover: boolean;
    transport: string;
  },
  undefined,
  State
>({
  name: 'rolling-deploy',
  description:
    'a 3-node cluster restarted one node at a time under traffic: events lost, reconnects, p99 during the roll',
  params: {
    clients: 600,
    publishPerSecond: 20,
    signal: 'SIGTERM',
    warmSeconds: 5,
    settleSeconds: 60,
    failover: true,
    transport: 'ws',
  },
  smoke: { clients: 12, warmSeconds: 1, settleSeconds: 45 },
  report: {
    variant: ['clients', 'failover'],
    columns: [
      { label: 'events lost', metric: 'events_lost', stat: 'count', format: 'count', target: () => zero },
      { label: 'sockets reconnected', metric: 'sockets_reconnected', stat: 'count', format: 'count' },
      { label: 'delivery p99 before', metric: 'delivery_before_ms', stat: 'p(99)', format: 'ms' },
      { label: 'delivery p99 during the roll', metric: 'delivery_roll_ms', stat: 'p(99)', format: 'ms' },
      { label: 'settle per node (max)', metric: 'node_settle_ms', stat: 'max', format: 'ms' },
    ],
  },
  options: (p) => {
    if (p.signal !== 'SIGKILL' && p.signal !== 'SIGTERM') throw new Error('--signal: SIGKILL or SIGTERM');
    return {
      nodes: 3,
      executor: {
        executor: 'per-vu-iterations',
        vus: p.clients,
        iterations: 1,
        maxDuration: `${p.warmSeconds + 3 * p.settleSeconds + 180}s`,
        gracefulStop: '5s',
      },
      thresholds: {
        checks: ['rate==1'],
        events_lost: ['count==0'],
        events_duplicated: ['count==0'],
        refetches: ['count==0'],
        nodes_rolled: ['value>=2'],
      },
      needsOwnNode: true,
      nodeEnv: { MAX_CONNECTIONS: String(p.clients + 500) },
      progress: ['clients_ready', 'clients_back', 'events_received'],
    };
  },

  async run(ctx) {
    const n = ctx.params.clients;
    const nodes = ctx.target.nodes;
    if (!ctx.check('a cluster to roll (--nodes ≥ 2)', nodes >= 2, `${nodes} node(s)`))
      return ctx.signal('end', { acked: [] } satisfies End);
    const ready = await ctx.until(() => ctx.live.counter('clients_ready') >= n, 120_000);
    if (
      !ctx.check('every client connected and subscribed', ready, `${ctx.live.counter('clients_ready')}/${n}`)
    )
      return ctx.signal('end', { acked: [] } satisfies End);
    const acked: number[] = [];
    let phase: Ev['phase'] = 'before';
    let publishing = true;
    let next = 0;
    const interval = 1000 / ctx.params.publishPerSecond;
    const publisher = (async () => {
      while (publishing && !ctx.abort.aborted) {
        const i = next++;
        try {
          await ctx.target.publish(STREAM, { i, sentAt: Date.now(), phase } satisfies Ev);
          acked.push(i);
        } catch {
          // No node answered: not acknowledged, so nobody owes it.
        }
        await new Promise((r) => setTimeout(r, interval));
      }
    })();
    await new Promise((r) => setTimeout(r, ctx.params.warmSeconds * 1000));
    phase = 'roll';
    let rolled = 0;
    for (let k = 0; k < nodes && !ctx.abort.aborted; k++) {
      // VU v connects to node (v - 1) mod nodes.
      const mine = Math.floor(n / nodes) + (k < n % nodes ? 1 : 0);
      const backBefore = ctx.live.counter(`clients_back_node${k}`);
      const t0 = Date.now();
      ctx.log(`  restarting node ${k + 1} of ${nodes} (${ctx.params.signal})…`);
      await ctx.target.restartNode(k, ctx.params.signal as NodeJS.Signals);
      const upMs = Date.now() - t0;
      const back = await ctx.until(
        () => ctx.live.counter(`clients_back_node${k}`) - backBefore >= mine,
        ctx.params.settleSeconds * 1000,
      );
      const settleMs = Date.now() - t0;
      ctx.metrics.trend('node_restart_ms').add(upMs);
      ctx.metrics.trend('node_settle_ms').add(settleMs);
      ctx.check(
        `every client of node ${k + 1} back`,
        back,
        `${ctx.live.counter(`clients_back_node${k}`) - backBefore}/${mine}`,
      );
      if (back) rolled++;
    }
    ctx.metrics.gauge('nodes_rolled').set(rolled);
    phase = 'after';
    await new Promise((r) => setTimeout(r, 2000));
    publishing = false;
    await publisher;
    ctx.metrics.counter('events_published').add(acked.length);
    ctx.signal('end', { acked } satisfies End);
    await ctx.until(() => ctx.live.counter('clients_reported') >= n, 30_000);
    const before = ctx.live.metrics.get('delivery_before_ms');
    const roll = ctx.live.metrics.get('delivery_roll_ms');
    if (before?.type === 'trend' && roll?.type === 'trend' && before.hdr.count > 0 && roll.hdr.count > 0)
      ctx.metrics.gauge('roll_p99_vs_before').set(roll.hdr.quantile(0.99) / before.hdr.quantile(0.99));
  },

  async iteration(vu) {
    const client = vu.client({ failover: vu.params.failover === true });
    vu.state.client = client;
    const node = (vu.id - 1) % vu.target.wsUrls.length;
    const got = new Set<number>();
    let dup = 0;
    let refetch = 0;
    let connectedOnce = false;
    let lost = false;
    client.subscribe<Ev>(
      STREAM,
      (ev) => {
        if (got.has(ev.data.i)) return void dup++;
        got.add(ev.data.i);
        vu.metrics.trend(`delivery_${ev.data.phase}_ms`).add(Date.now() - ev.data.sentAt);
      },
      { onRefetch: () => refetch++ },
    );
    client.on('state', (c) => {
      if (c.state === 'connected') {
        if (connectedOnce && lost) {
          lost = false;
          vu.metrics.counter('clients_back').add();
          vu.metrics.counter(`clients_back_node${node}`).add();
        }
        connectedOnce = true;
      } else if (connectedOnce && !lost && c.state !== 'disconnected') {
        // (`disconnected` is our own disconnect() at the end, not an outage)
        lost = true;
        vu.metrics.counter('sockets_reconnected').add();
        vu.metrics.counter(`sockets_reconnected_node${node}`).add();
      }
    });
    client.connect();
    await client.ready(60_000);
    while (client.getSubscription(STREAM)?.state !== 'subscribed') if (!(await vu.sleep(20))) return;
    vu.metrics.counter('clients_ready').add();
    const end = await vu.waitFor<End>('end');
    const deadline = Date.now() + 15_000;
    while (end.acked.some((i) => !got.has(i)) && Date.now() < deadline) await vu.sleep(100);
    const missing = end.acked.filter((i) => !got.has(i)).length;
    vu.metrics.counter('events_lost').add(missing);
    vu.metrics.counter('events_duplicated').add(dup);
    vu.metrics.counter('refetches').add(refetch);
    vu.metrics.counter('events_received').add(got.size);
    vu.check('every acknowledged event arrived, once', missing === 0 && dup === 0);
    vu.metrics.counter('clients_reported').add();
  },

  vuTeardown(vu) {
    vu.state.client?.disconnect();
  },
});
