import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration } from './duration.js';
import type { Executor, ExecutorOptions } from './scenario.js';

/**
 * Runs one worker's share of an executor. VU ids are dealt round-robin
 * (worker w of W gets ids w+1, w+1+W, ...), so a ramp grows on every worker
 * at once. `iterate` runs one iteration of a VU; `stopVu` closes what it holds.
 */
export interface ExecutorHooks {
  iterate(vuId: number): Promise<void>;
  stopVu(vuId: number): Promise<void>;
  /** Aborts running iterations (gracefulStop over). */
  abortAll(): void;
  /** The runner said stop: start nothing more. */
  isStopped(): boolean;
  dropped(): void;
  /** Number of VUs currently running iterations in this worker. */
  setActive(n: number): void;
}

export interface Share {
  worker: number;
  workers: number;
  startAt: number;
}

/** Total VUs an executor may use (for splitting over workers and sizing). */
export function maxVus(e: Executor): number {
  switch (e.executor) {
    case 'constant-vus':
    case 'per-vu-iterations':
      return e.vus;
    case 'ramping-vus':
      return Math.max(e.startVUs ?? 0, ...e.stages.map((s) => s.target));
    case 'constant-arrival-rate':
      return e.maxVUs ?? e.preAllocatedVUs;
    case 'none':
      return 0;
  }
}

/** Longest the executor runs, gracefulStop not included. */
export function plannedMs(e: Executor): number {
  switch (e.executor) {
    case 'constant-vus':
    case 'constant-arrival-rate':
      return parseDuration(e.duration);
    case 'per-vu-iterations':
      return parseDuration(e.maxDuration);
    case 'ramping-vus':
      return e.stages.reduce((a, s) => a + parseDuration(s.duration), 0);
    case 'none':
      return 0;
  }
}

/** Target VUs of a ramping-vus executor `ms` after its start (linear within each stage). */
export function rampTarget(e: Extract<Executor, { executor: 'ramping-vus' }>, ms: number): number {
  let from = e.startVUs ?? 0;
  let t = 0;
  for (const s of e.stages) {
    const d = parseDuration(s.duration);
    if (ms < t + d) return Math.round(from + ((s.target - from) * (ms - t)) / d);
    t += d;
    from = s.target;
  }
  return from;
}

const idsOf = (total: number, s: Share): number[] => {
  const ids: number[] = [];
  for (let id = s.worker + 1; id <= total; id += s.workers) ids.push(id);
  return ids;
};

export async function runExecutor(e: ExecutorOptions, share: Share, h: ExecutorHooks): Promise<void> {
  const end = share.startAt + plannedMs(e);
  const grace = parseDuration(e.gracefulStop ?? '10s');
  const wait = share.startAt - Date.now();
  if (wait > 0) await sleep(wait);
  let active = 0;
  const running = new Set<Promise<void>>();
  const bump = (d: number) => {
    active += d;
    h.setActive(active);
  };
  const started = new Set<number>();
  const track = (p: Promise<void>) => {
    const q = p.finally(() => running.delete(q));
    running.add(q);
    return q;
  };

  const loopVu = async (id: number, go: () => boolean) => {
    started.add(id);
    bump(1);
    try {
      while (go() && Date.now() < end && !h.isStopped()) await h.iterate(id);
    } finally {
      bump(-1);
    }
  };

  switch (e.executor) {
    case 'none':
      break;
    case 'constant-vus':
      for (const id of idsOf(e.vus, share)) track(loopVu(id, () => true));
      break;
    case 'per-vu-iterations':
      for (const id of idsOf(e.vus, share)) {
        let n = 0;
        track(loopVu(id, () => n++ < e.iterations));
      }
      break;
    case 'ramping-vus': {
      const ids = idsOf(maxVus(e), share);
      const on = new Set<number>();
      const target = () => rampTarget(e, Date.now() - share.startAt);
      while (Date.now() < end && !h.isStopped()) {
        const t = target();
        for (const id of ids) {
          if (id <= t && !on.has(id)) {
            on.add(id);
            // The VU runs while the ramp keeps it; ramped down, it finishes its iteration and stops.
            track(
              loopVu(id, () => target() >= id).then(async () => {
                on.delete(id);
                if (Date.now() < end) await h.stopVu(id);
              }),
            );
          }
        }
        await sleep(Math.min(50, Math.max(1, end - Date.now())));
      }
      break;
    }
    case 'constant-arrival-rate': {
      const unit = parseDuration(e.timeUnit ?? '1s');
      const rate = e.rate / share.workers;
      const interval = unit / rate;
      const pool = idsOf(e.maxVUs ?? e.preAllocatedVUs, share);
      const free = pool.slice(0, Math.ceil(e.preAllocatedVUs / share.workers));
      let allocated = free.length;
      // Arrival i at startAt + i × interval, for every arrival inside the duration.
      const arrivals = Math.ceil((plannedMs(e) - 1e-9) / interval);
      for (let i = 0; i < arrivals && !h.isStopped(); i++) {
        const wait = share.startAt + i * interval - Date.now();
        if (wait > 0) await sleep(wait);
        let id = free.pop();
        if (id === undefined && allocated < pool.length) id = pool[allocated++];
        if (id === undefined) h.dropped();
        else {
          const vu = id;
          started.add(vu);
          bump(1);
          track(
            h.iterate(vu).finally(() => {
              bump(-1);
              free.push(vu);
            }),
          );
        }
      }
      break;
    }
  }

  if (e.executor !== 'none') {
    const all = Promise.all(running);
    const timer = sleep(h.isStopped() ? 0 : Math.max(0, end - Date.now()) + grace).then(
      () => 'grace' as const,
    );
    if ((await Promise.race([all.then(() => 'done' as const), timer])) === 'grace') {
      h.abortAll();
      await all;
    }
  }
  for (const id of started) await h.stopVu(id);
}
