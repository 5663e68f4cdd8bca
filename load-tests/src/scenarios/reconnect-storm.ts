import type { ShutterClient } from '@shutter/client-sdk';
import { Hdr } from '../runner/hdr.js';
import { zero } from '../runner/report/page-spec.js';
import { defineScenario } from '../runner/scenario.js';

const STREAM = 'topic:storm';

/** What the runner tells every VU once the storm is over. */
interface End {
  /** `i` of every event the node acknowledged (200 from the admin publish). */
  acked: number[];
  /** When the node was down (killed) and ready again, epoch ms. */
  downAt: number;
  upAt: number;
}

interface State {
  client: ShutterClient;
}

/**
 * N SDK clients subscribe to one stream while the runner publishes to it
 * through the admin API; the runner kills the node (SIGKILL by default, or
 * SIGTERM for a clean restart) and starts it again on the same port. The
 * stream history is in Redis, so every client must resume without a gap:
 * every acknowledged event arrives, none twice, and the clients come back
 * spread out by the SDK's jittered backoff rather than all at once. In a
 * local cluster (`--nodes N`) the first node restarts: its clients come
 * back, the other nodes' clients stay connected, and all get every event
 * (published through the last node, so publishing goes on meanwhile).
 */
export default defineScenario<
  { clients: number; transport: string; signal: string; publishPerSecond: number; recoverSeconds: number },
  undefined,
  State
>({
  name: 'reconnect-storm',
  description: 'the node restarts under N clients: time until all are back, no event lost, backoff spread',
  params: { clients: 2000, transport: 'ws', signal: 'SIGKILL', publishPerSecond: 20, recoverSeconds: 60 },
  // A smoke run checks function: in a full `npm test` on a loaded machine (load average 13) the
  // node alone took 14.6 s to start again and the 20 clients were back after 32.4 s.
  smoke: { clients: 20, recoverSeconds: 90 },
  report: {
    variant: ['clients', 'signal'],
    columns: [
      { label: 'node down → all back', metric: 'storm_recovery_ms', stat: 'value', format: 'ms' },
      { label: 'reconnect p50', metric: 'reconnect_ms', stat: 'med', format: 'ms' },
      { label: 'reconnect p99', metric: 'reconnect_ms', stat: 'p(99)', format: 'ms' },
      {
        label: 'peak share of reconnects in 100 ms',
        metric: 'reconnect_peak_share',
        stat: 'value',
        format: 'ratio',
      },
      { label: 'events lost', metric: 'events_lost', stat: 'count', format: 'count', target: () => zero },
      { label: 'twice', metric: 'events_duplicated', stat: 'count', format: 'count', target: () => zero },
    ],
  },
  options: (p) => {
    if (p.clients > 19_000) throw new Error('reconnect-storm: at most 19 000 clients on one node');
    if (p.signal !== 'SIGKILL' && p.signal !== 'SIGTERM') throw new Error('--signal: SIGKILL or SIGTERM');
    return {
      executor: {
        executor: 'per-vu-iterations',
        vus: p.clients,
        iterations: 1,
        maxDuration: `${p.recoverSeconds + 120}s`,
        gracefulStop: '5s',
      },
      thresholds: {
        checks: ['rate==1'],
        clients_back: ['count>0'],
        events_lost: ['count==0'],
        events_duplicated: ['count==0'],
        refetches: ['count==0'],
        storm_recovery_ms: [`value<${p.recoverSeconds * 1000}`],
        // Spread by the backoff: the busiest 100 ms took less than half of the reconnects.
        reconnect_peak_share: ['value<0.5'],
      },
      needsOwnNode: true,
      nodeEnv: { MAX_CONNECTIONS: String(p.clients + 500) },
      progress: ['clients_ready', 'clients_back', 'events_received'],
    };
  },

  async run(ctx) {
    const n = ctx.params.clients;
    const ready = await ctx.until(() => ctx.live.counter('clients_ready') >= n, 120_000);
    if (
      !ctx.check('every client connected and subscribed', ready, `${ctx.live.counter('clients_ready')}/${n}`)
    )
      return ctx.signal('end', { acked: [], downAt: 0, upAt: 0 } satisfies End);
    const acked: number[] = [];
    let next = 0;
    let publishing = true;
    const interval = 1000 / ctx.params.publishPerSecond;
    const publisher = (async () => {
      while (publishing && !ctx.abort.aborted) {
        const i = next++;
        try {
          await ctx.target.publish(STREAM, { i });
          acked.push(i);
        } catch {
          // The node is down: this event was not acknowledged, so nobody owes it.
        }
        await new Promise((r) => setTimeout(r, interval));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    const downAt = Date.now();
    ctx.log(`  restarting the node (${ctx.params.signal})…`);
    await ctx.target.restart(ctx.params.signal as NodeJS.Signals);
    const upAt = Date.now();
    ctx.metrics.gauge('node_restart_ms').set(upAt - downAt);
    // VU k is on node (k - 1) mod nodes; the first node is the one restarted.
    const onRestarted = Math.ceil(n / ctx.target.nodes);
    const back = await ctx.until(
      () => ctx.live.counter('clients_back') >= onRestarted,
      ctx.params.recoverSeconds * 1000,
    );
    ctx.metrics.gauge('storm_recovery_ms').set(Date.now() - downAt);
    ctx.check(
      'every client of the restarted node back',
      back && ctx.live.counter('clients_back') === onRestarted,
      `${ctx.live.counter('clients_back')}/${onRestarted}`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    publishing = false;
    await publisher;
    ctx.metrics.counter('events_published').add(acked.length);
    ctx.signal('end', { acked, downAt, upAt } satisfies End);
    // The VUs report when they have everything (or gave up); then the spread of their returns.
    await ctx.until(() => ctx.live.counter('clients_reported') >= n, 30_000);
    const s = ctx.live.metrics.get('reconnect_after_up_ms');
    if (s?.type === 'trend' && s.hdr.count > 0) {
      ctx.metrics.gauge('reconnect_spread_ms').set(s.hdr.quantile(0.9) - s.hdr.quantile(0.1));
      // Share of all reconnects in the busiest 100 ms after the node was up. The histogram's
      // buckets are 2 % wide: below 5 s narrower than a slot, above it wider, which can only
      // make the peak look busier than it was.
      const slots = new Map<number, number>();
      for (const [i, c] of s.hdr.data().buckets) {
        const slot = Math.floor(Hdr.edge(i) / 100);
        slots.set(slot, (slots.get(slot) ?? 0) + c);
      }
      ctx.metrics.gauge('reconnect_peak_share').set(Math.max(...slots.values()) / s.hdr.count);
    }
  },

  async iteration(vu) {
    const client = vu.client();
    vu.state.client = client;
    const got = new Set<number>();
    let dup = 0;
    let refetch = 0;
    let connectedOnce = false;
    let lostAt: number | undefined;
    let backAt: number | undefined;
    client.subscribe<{ i: number }>(
      STREAM,
      (ev) => {
        if (got.has(ev.data.i)) dup++;
        else got.add(ev.data.i);
      },
      { onRefetch: () => refetch++ },
    );
    const subscribed = new Promise<void>((resolve) => {
      const sub = client.getSubscription(STREAM);
      const off = sub?.on('subscribed', () => {
        off?.();
        resolve();
      });
    });
    client.on('state', (c) => {
      if (c.state === 'connected') {
        if (connectedOnce && lostAt !== undefined && backAt === undefined) {
          backAt = Date.now();
          vu.metrics.counter('clients_back').add();
        }
        connectedOnce = true;
      } else if (connectedOnce && lostAt === undefined) lostAt = Date.now();
    });
    client.on('reconnect', () => vu.metrics.counter('reconnect_attempts').add());
    client.connect();
    await client.ready(60_000);
    await subscribed;
    vu.metrics.counter('clients_ready').add();
    const end = await vu.waitFor<End>('end');
    const want = end.acked;
    const deadline = Date.now() + 15_000;
    while (want.some((i) => !got.has(i)) && Date.now() < deadline) await vu.sleep(100);
    const lost = want.filter((i) => !got.has(i)).length;
    vu.metrics.counter('events_lost').add(lost);
    vu.metrics.counter('events_duplicated').add(dup);
    vu.metrics.counter('refetches').add(refetch);
    vu.metrics.counter('events_received').add(got.size);
    vu.check('every acknowledged event arrived, once', lost === 0 && dup === 0);
    if ((vu.id - 1) % vu.target.wsUrls.length === 0)
      vu.check('came back after the restart', backAt !== undefined);
    // In a local cluster, the other nodes' clients stay connected through it.
    else vu.check('stayed connected (another node restarted)', lostAt === undefined);
    if (backAt !== undefined && lostAt !== undefined) {
      vu.metrics.trend('reconnect_ms').add(backAt - lostAt);
      vu.metrics.trend('reconnect_after_up_ms').add(Math.max(0, backAt - end.upAt));
    }
    vu.metrics.counter('clients_reported').add();
  },

  vuTeardown(vu) {
    vu.state.client?.disconnect();
  },
});
