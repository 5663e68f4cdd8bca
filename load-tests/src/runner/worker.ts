import { setMaxListeners } from 'node:events';
import { createClient, type ShutterClient, type WebSocketConstructor } from '@shutter/client-sdk';
import WebSocket from 'ws';
import { mintHs256 } from '../fanout/jwt.js';
import { scenarios } from '../scenarios/index.js';
import { runExecutor } from './executors.js';
import type { FromWorker, ToWorker, WorkerPlan } from './ipc.js';
import { Metrics } from './metrics.js';
import type { Scenario, Vu } from './scenario.js';

/**
 * A worker process (forked by the runner): runs its share of the VUs of one
 * scenario, and sends its metric windows to the runner once a second.
 */
let plan: WorkerPlan | undefined;
const metrics = new Metrics(() => plan?.t0 ?? Date.now());
const signals = new Map<string, unknown>();
const waiters = new Map<string, ((v: unknown) => void)[]>();
const stopAll = new AbortController();
// Every sleeping or waiting VU listens for the stop: thousands, by design.
setMaxListeners(0, stopAll.signal);
const errors: string[] = [];
let errorsSeen = 0;
let active = 0;

const send = (m: FromWorker) => process.send?.(m);
const flush = () => send({ ev: 'metrics', windows: metrics.flush(), active, errors: errors.splice(0) });

const ctors = new Map<string, WebSocketConstructor>();
/** `ws` bound to one source address, shaped as the SDK's WebSocket constructor. */
function boundWebSocket(localAddress: string): WebSocketConstructor {
  let c = ctors.get(localAddress);
  if (!c) {
    class Bound extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { localAddress, perMessageDeflate: false });
      }
    }
    c = Bound as unknown as WebSocketConstructor;
    ctors.set(localAddress, c);
  }
  return c;
}

function makeVu(p: WorkerPlan, id: number): Vu<unknown, Record<string, unknown>> {
  const localAddress = `127.0.0.${p.addressFirst + ((id - 1) % p.addressCount)}`;
  const token = (sub = `vu${id}`) => mintHs256(p.target.secret, sub, 3600);
  return {
    id,
    iteration: 0,
    worker: p.worker,
    data: p.data,
    params: p.params,
    target: p.target,
    state: {},
    metrics,
    check: (name, ok) => metrics.check(name, ok),
    signal: stopAll.signal,
    sleep: (ms) =>
      new Promise<boolean>((resolve) => {
        if (stopAll.signal.aborted) return resolve(false);
        const t = setTimeout(() => {
          stopAll.signal.removeEventListener('abort', onAbort);
          resolve(true);
        }, ms);
        const onAbort = () => {
          clearTimeout(t);
          resolve(false);
        };
        stopAll.signal.addEventListener('abort', onAbort, { once: true });
      }),
    waitFor: <T>(name: string) =>
      new Promise<T>((resolve, reject) => {
        if (signals.has(name)) return resolve(signals.get(name) as T);
        if (stopAll.signal.aborted) return reject(new Error('the test stopped'));
        stopAll.signal.addEventListener('abort', () => reject(new Error('the test stopped')), { once: true });
        const list = waiters.get(name) ?? [];
        list.push(resolve as (v: unknown) => void);
        waiters.set(name, list);
      }),
    localAddress,
    token,
    client: (o = {}): ShutterClient =>
      createClient({
        // Its own node; with `failover`, then the cluster's other nodes in turn (the SDK's URL list).
        url: o.failover
          ? p.target.wsUrls.map((_, k) => p.target.wsUrls[(id - 1 + k) % p.target.wsUrls.length] as string)
          : (p.target.wsUrls[(id - 1) % p.target.wsUrls.length] ?? p.target.wsUrl),
        token: token(o.sub),
        codec: o.codec ?? 'msgpack',
        WebSocket: boundWebSocket(localAddress),
        ...(o.backoff ? { backoff: o.backoff } : {}),
      }),
  };
}

async function start(p: WorkerPlan): Promise<void> {
  plan = p;
  const scenario = scenarios[p.scenario] as Scenario<never, unknown, Record<string, unknown>> | undefined;
  if (!scenario) throw new Error(`unknown scenario ${p.scenario}`);
  const vus = new Map<number, Vu<unknown, Record<string, unknown>>>();
  const stopped = new Set<number>();
  const iterations = metrics.counter('iterations');
  const duration = metrics.trend('iteration_duration');
  const failed = metrics.counter('iteration_errors');
  const dropped = metrics.counter('dropped_iterations');
  const vusGauge = metrics.gauge('vus');
  const timer = setInterval(flush, 1000);
  await runExecutor(
    p.executor,
    { worker: p.worker, workers: p.workers, startAt: p.startAt },
    {
      iterate: async (id) => {
        let vu = vus.get(id);
        if (!vu) {
          vu = makeVu(p, id);
          vus.set(id, vu);
        }
        stopped.delete(id);
        const t = performance.now();
        try {
          await scenario.iteration?.(vu);
          iterations.add();
          duration.add(performance.now() - t);
        } catch (e) {
          failed.add();
          if (errorsSeen++ < 5) errors.push(`VU ${id}: ${e instanceof Error ? e.message : String(e)}`);
          // A failing iteration must not spin: wait a little before the next one.
          await vu.sleep(100);
        }
        vu.iteration++;
      },
      stopVu: async (id) => {
        const vu = vus.get(id);
        if (!vu || stopped.has(id)) return;
        stopped.add(id);
        try {
          await scenario.vuTeardown?.(vu);
        } catch (e) {
          if (errorsSeen++ < 5)
            errors.push(`VU ${id} teardown: ${e instanceof Error ? e.message : String(e)}`);
        }
        vu.state = {};
      },
      abortAll: () => stopAll.abort(),
      isStopped: () => stopAll.signal.aborted,
      dropped: () => dropped.add(),
      setActive: (n) => {
        active = n;
        vusGauge.set(n);
      },
    },
  );
  clearInterval(timer);
  flush();
  send({ ev: 'done' });
}

process.on('message', (m: ToWorker) => {
  if (m.cmd === 'start')
    start(m.plan).catch((e: unknown) => {
      process.stderr.write(`worker ${m.plan.worker}: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    });
  else if (m.cmd === 'signal') {
    signals.set(m.name, m.payload);
    for (const w of waiters.get(m.name) ?? []) w(m.payload);
    waiters.delete(m.name);
  } else if (m.cmd === 'stop') stopAll.abort();
});
send({ ev: 'ready' });
// The runner's end (or death) ends the worker: its sockets go with it.
process.on('disconnect', () => process.exit(0));
