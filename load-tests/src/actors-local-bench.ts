/**
 * Actor runtime, one process: local ask round trips per second and latency,
 * activations per second, memory per idle activation. Results go to
 * docs/performance.md ("Actor runtime (local)").
 *
 *   node --expose-gc --conditions=source --import tsx load-tests/src/actors-local-bench.ts
 *
 * Options (env): SECONDS (per rate run, default 3), IN_FLIGHT (default 256),
 * ACTORS (default 1000), IDLE (activations for the memory run, default 100000).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ActorSystem, defineActor, type MemoryStateStore } from '@shutter/actors';

const SECONDS = Number(process.env.SECONDS ?? 3);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 256);
const ACTORS = Number(process.env.ACTORS ?? 1000);
const IDLE = Number(process.env.IDLE ?? 100_000);

const Counter = defineActor({
  name: 'counter',
  initialState: () => ({ n: 0 }),
  handlers: {
    get: (ctx) => ctx.state.n,
    inc: (ctx) => {
      ctx.setState({ n: ctx.state.n + 1 });
      return ctx.state.n;
    },
  },
});
const Ephemeral = defineActor({ ...Counter, name: 'ephemeral', persistence: 'none' });

const gc = (globalThis as { gc?: () => void }).gc;

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

/** `IN_FLIGHT` loops, each asking one of `ACTORS` actors in turn, for `SECONDS`. */
async function askRate(sys: ActorSystem, msg: 'get' | 'inc', type: typeof Counter) {
  const refs = [...Array(ACTORS).keys()].map((i) => sys.ref(type, `a${i}`));
  await Promise.all(refs.map((r) => r.ask({ type: 'get' }))); // activate first
  const lat = new Float64Array(8_000_000);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    [...Array(IN_FLIGHT).keys()].map(async (k) => {
      let i = k;
      while (performance.now() < end) {
        const s = performance.now();
        await refs[i % ACTORS]!.ask({ type: msg });
        if (n < lat.length) lat[n] = performance.now() - s;
        n++;
        i += IN_FLIGHT;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
  return { perSec: n / wall, perCpuSec: n / cpuSec, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
}

/** One caller, one message at a time: the latency floor. */
async function sequential(sys: ActorSystem) {
  const ref = sys.ref(Counter, 'seq');
  await ref.ask({ type: 'get' });
  const N = 200_000;
  const lat = new Float64Array(N);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await ref.ask({ type: 'get' });
    lat[i] = performance.now() - s;
  }
  const cpu = process.cpuUsage(cpu0);
  lat.sort();
  return { perCpuSec: N / ((cpu.user + cpu.system) / 1e6), p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function activationRate(sys: ActorSystem, type: typeof Counter, count: number) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const batch = 1000;
  for (let i = 0; i < count; i += batch) {
    await Promise.all([...Array(batch).keys()].map((j) => sys.ref(type, `act${i + j}`).ask({ type: 'get' })));
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    perSec: count / ((performance.now() - t0) / 1000),
    perCpuSec: count / ((cpu.user + cpu.system) / 1e6),
  };
}

async function memoryPerActivation() {
  if (!gc) throw new Error('run with --expose-gc');
  const sys = new ActorSystem({ idleMs: 3_600_000 }).register(Ephemeral);
  await sys.ref(Ephemeral, 'warm').ask({ type: 'get' });
  gc();
  const before = process.memoryUsage().heapUsed;
  const ids = [...Array(IDLE).keys()].map((i) => `user-${i}`); // ids exist anyway (the caller holds them)
  gc();
  const withIds = process.memoryUsage().heapUsed;
  for (let i = 0; i < IDLE; i += 1000) {
    await Promise.all(ids.slice(i, i + 1000).map((id) => sys.ref(Ephemeral, id).ask({ type: 'get' })));
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  // The state itself, measured the same way: IDLE objects shaped like the actor's state.
  const states = [...Array(IDLE).keys()].map(() => ({ n: 0 }));
  gc();
  const withStates = process.memoryUsage().heapUsed;
  const stateBytes = (withStates - after) / IDLE;
  const perActivation = (after - withIds) / IDLE;
  if (sys.stats().activations !== IDLE + 1) throw new Error('activations went away during the memory run');
  void states.length;
  void before;
  await sys.stop();
  return { perActivation, stateBytes, beyondState: perActivation - stateBytes };
}

async function main() {
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d });
  console.log(`# actors-local-bench  node ${process.version}  ${cpus()[0]?.model ?? '?'} ×${cpus().length}`);
  console.log(
    `# ${SECONDS}s per run, ${IN_FLIGHT} in flight over ${ACTORS} actors; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );

  const read = new ActorSystem().register(Counter);
  const r = await askRate(read, 'get', Counter);
  console.log(
    `ask (read, no state change): ${f(r.perSec)}/s  ${f(r.perCpuSec)}/CPU-s  p50 ${f(r.p50, 3)} ms  p99 ${f(r.p99, 3)} ms`,
  );
  await read.stop();

  const write = new ActorSystem().register(Counter);
  const w = await askRate(write, 'inc', Counter);
  const store = write.store as MemoryStateStore;
  console.log(
    `ask (state change, group-committed to MemoryStateStore): ${f(w.perSec)}/s  ${f(w.perCpuSec)}/CPU-s  p50 ${f(w.p50, 3)} ms  p99 ${f(w.p99, 3)} ms  (${f(store.transactions)} transactions)`,
  );
  await write.stop();

  const seqSys = new ActorSystem().register(Counter);
  const s = await sequential(seqSys);
  console.log(
    `ask, one caller sequential: ${f(s.perCpuSec)}/CPU-s  p50 ${f(s.p50, 4)} ms  p99 ${f(s.p99, 4)} ms`,
  );
  await seqSys.stop();

  const actSys = new ActorSystem().register(Counter).register(Ephemeral);
  const a1 = await activationRate(actSys, Ephemeral, 100_000);
  const a2 = await activationRate(actSys, Counter, 100_000);
  console.log(
    `activations: ${f(a1.perSec)}/s  ${f(a1.perCpuSec)}/CPU-s (persistence none);  ${f(a2.perSec)}/s  ${f(a2.perCpuSec)}/CPU-s (load from MemoryStateStore, nothing stored)`,
  );
  await actSys.stop();

  if (gc) {
    const m = await memoryPerActivation();
    console.log(
      `memory at ${f(IDLE)} idle activations: ${f(m.perActivation)} B each, state ${f(m.stateBytes)} B, beyond state ${f(m.beyondState)} B`,
    );
  } else {
    console.log('memory: skipped (run node with --expose-gc)');
  }
}

await main();
