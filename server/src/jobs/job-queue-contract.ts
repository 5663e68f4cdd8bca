import { describe, expect, it } from 'vitest';
import type { Job, JobQueue, JobQueueOptions } from './job-queue.js';

export interface ContractQueue {
  queue: JobQueue<{ n: number }>;
  /** Stops consumers and removes everything the queue created. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/**
 * The contract every `JobQueue` adapter passes (see the port's comment).
 * `leaseMs` is what the adapter can do quickly (JetStream needs ~1 s).
 */
export function jobQueueContract(
  name: string,
  open: (o: JobQueueOptions) => Promise<ContractQueue>,
  leaseMs: number,
) {
  const opts = (o: Partial<JobQueueOptions> = {}): JobQueueOptions => ({
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    leaseMs: 30_000,
    stateTtlMs: 7 * 86_400_000,
    ...o,
  });

  describe(`JobQueue contract: ${name}`, () => {
    it('runs a job once even when enqueued twice, and shows it done', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        const runs: number[] = [];
        await queue.enqueue('a1', { n: 1 });
        await queue.enqueue('a1', { n: 2 });
        const c = queue.consume(async (j) => {
          runs.push(j.payload.n);
        });
        await until(async () => (await queue.get('a1'))?.status === 'done');
        await queue.enqueue('a1', { n: 3 });
        await sleep(300);
        await c.stop();
        expect(runs).toEqual([1]);
        expect(await queue.get('a1')).toMatchObject({
          id: 'a1',
          payload: { n: 1 },
          status: 'done',
          attempts: 1,
        });
        expect(await queue.get('missing')).toBeUndefined();
      } finally {
        await cleanup();
      }
    });

    it('forgets finished jobs (done and dead) once stateTtlMs has passed, not before', async () => {
      const { queue, cleanup } = await open(opts({ stateTtlMs: 1_500, maxAttempts: 1 }));
      try {
        await queue.enqueue('ok1', { n: 1 });
        await queue.enqueue('bad1', { n: 2 });
        const c = queue.consume(async (j) => {
          if (j.payload.n === 2) throw new Error('fails');
        });
        await until(async () => (await queue.get('ok1'))?.status === 'done');
        await until(async () => (await queue.get('bad1'))?.status === 'dead');
        // Kept for its TTL: still readable half-way through.
        await sleep(500);
        expect((await queue.get('ok1'))?.status).toBe('done');
        await until(
          async () => (await queue.get('ok1')) === undefined && (await queue.get('bad1')) === undefined,
        );
        await c.stop();
      } finally {
        await cleanup();
      }
    });

    it('retries a failing job with exponential backoff until it succeeds', async () => {
      const { queue, cleanup } = await open(opts({ maxAttempts: 4 }));
      try {
        const at: number[] = [];
        const c = queue.consume(async (j) => {
          at.push(Date.now());
          if (j.attempt < 3) throw new Error(`flaky ${j.attempt}`);
        });
        await queue.enqueue('r1', { n: 1 });
        await until(async () => (await queue.get('r1'))?.status === 'done');
        await c.stop();
        expect(at).toHaveLength(3);
        const [t1 = 0, t2 = 0, t3 = 0] = at;
        expect(t2 - t1).toBeGreaterThanOrEqual(90);
        expect(t3 - t2).toBeGreaterThanOrEqual(190);
        expect(await queue.get('r1')).toMatchObject({
          status: 'done',
          attempts: 3,
          lastError: 'Error: flaky 2',
        });
      } finally {
        await cleanup();
      }
    });

    it('dead-letters a job after maxAttempts, calls onDead once, never runs it again', async () => {
      const { queue, cleanup } = await open(opts({ maxAttempts: 3, backoffBaseMs: 20 }));
      try {
        let runs = 0;
        const dead: Job<{ n: number }>[] = [];
        const c = queue.consume(
          async () => {
            runs++;
            throw new Error('always broken');
          },
          { onDead: async (j) => void dead.push(j) },
        );
        await queue.enqueue('d1', { n: 7 });
        await until(async () => dead.length === 1);
        await sleep(400);
        await c.stop();
        expect(runs).toBe(3);
        expect(dead.map((j) => [j.id, j.payload.n, j.attempt])).toEqual([['d1', 7, 3]]);
        const s = await queue.get('d1');
        expect(s).toMatchObject({ status: 'dead', attempts: 3 });
        expect(s?.lastError).toContain('always broken');
      } finally {
        await cleanup();
      }
    });

    it('dead-letters at once an error marked retryable: false', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        let runs = 0;
        const c = queue.consume(async () => {
          runs++;
          throw Object.assign(new Error('bad input'), { retryable: false });
        });
        await queue.enqueue('p1', { n: 1 });
        await until(async () => (await queue.get('p1'))?.status === 'dead');
        await sleep(300);
        await c.stop();
        expect(runs).toBe(1);
      } finally {
        await cleanup();
      }
    });

    it('shows progress while a job runs', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const c = queue.consume(async (j) => {
          await j.progress('resizing', 40);
          await gate;
        });
        await queue.enqueue('g1', { n: 1 });
        const s = await until(async () => {
          const st = await queue.get('g1');
          return st?.stage === 'resizing' ? st : undefined;
        });
        expect(s).toMatchObject({ status: 'running', stage: 'resizing', percent: 40, attempts: 1 });
        release();
        await until(async () => (await queue.get('g1'))?.status === 'done');
        await c.stop();
      } finally {
        await cleanup();
      }
    });

    it('shares jobs between consumers (two nodes), each job once, within each concurrency limit', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        const seen: string[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        const handler = async (j: Job<{ n: number }>) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          seen.push(j.id);
          await sleep(30);
          inFlight--;
        };
        const a = queue.consume(handler, { concurrency: 2 });
        const b = queue.consume(handler, { concurrency: 2 });
        const ids = [...Array(16).keys()].map((i) => `c${i}`);
        await Promise.all(ids.map((id, n) => queue.enqueue(id, { n })));
        await until(async () => seen.length >= ids.length && (await queue.get('c15'))?.status === 'done');
        await sleep(200);
        await Promise.all([a.stop(), b.stop()]);
        expect([...seen].sort()).toEqual([...ids].sort());
        expect(maxInFlight).toBeLessThanOrEqual(4);
        expect(maxInFlight).toBeGreaterThan(1);
      } finally {
        await cleanup();
      }
    });

    it('retries a dead job: queued with attempts reset and lastError kept, runs again with its payload, can succeed', async () => {
      const { queue, cleanup } = await open(opts({ maxAttempts: 2, backoffBaseMs: 20 }));
      try {
        const first: number[] = [];
        let dead = 0;
        const c1 = queue.consume(
          async (j) => {
            first.push(j.attempt);
            throw new Error('store down');
          },
          { onDead: async () => void dead++ },
        );
        await queue.enqueue('rt1', { n: 5 });
        await until(async () => dead === 1);
        await c1.stop();
        expect(first).toEqual([1, 2]);
        expect(await queue.retry('rt1')).toBe(true);
        const queued = await queue.get('rt1');
        expect(queued).toMatchObject({ status: 'queued', attempts: 0, payload: { n: 5 } });
        expect(queued?.lastError).toContain('store down');
        const second: [number, number][] = [];
        const c2 = queue.consume(async (j) => {
          second.push([j.attempt, j.payload.n]);
        });
        await until(async () => (await queue.get('rt1'))?.status === 'done');
        await sleep(300);
        await c2.stop();
        expect(second).toEqual([[1, 5]]);
        const done = await queue.get('rt1');
        expect(done).toMatchObject({ status: 'done', attempts: 1, payload: { n: 5 } });
        expect(done?.lastError).toContain('store down');
        expect(await queue.retry('rt1')).toBe(false);
      } finally {
        await cleanup();
      }
    });

    it('gives a retried job a fresh budget of attempts and calls onDead again when it dies again', async () => {
      const { queue, cleanup } = await open(opts({ maxAttempts: 2, backoffBaseMs: 20 }));
      try {
        const attempts: number[] = [];
        const dead: number[] = [];
        const c = queue.consume(
          async (j) => {
            attempts.push(j.attempt);
            throw new Error(`broken ${attempts.length}`);
          },
          { onDead: async (j) => void dead.push(j.attempt) },
        );
        await queue.enqueue('rt2', { n: 1 });
        await until(async () => dead.length === 1);
        expect(await queue.retry('rt2')).toBe(true);
        await until(async () => dead.length === 2);
        await sleep(300);
        await c.stop();
        expect(attempts).toEqual([1, 2, 1, 2]);
        expect(dead).toEqual([2, 2]);
        const s = await queue.get('rt2');
        expect(s).toMatchObject({ status: 'dead', attempts: 2, lastError: 'Error: broken 4' });
      } finally {
        await cleanup();
      }
    });

    it('answers false to a retry of an unknown, queued, running or done job and leaves it alone', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        expect(await queue.retry('nobody')).toBe(false);
        expect(await queue.get('nobody')).toBeUndefined();
        await queue.enqueue('rt3', { n: 1 });
        expect(await queue.retry('rt3')).toBe(false);
        expect(await queue.get('rt3')).toMatchObject({ status: 'queued', attempts: 0 });
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let runs = 0;
        const c = queue.consume(async () => {
          runs++;
          await gate;
        });
        await until(async () => (await queue.get('rt3'))?.status === 'running');
        expect(await queue.retry('rt3')).toBe(false);
        release();
        await until(async () => (await queue.get('rt3'))?.status === 'done');
        expect(await queue.retry('rt3')).toBe(false);
        await sleep(300);
        await c.stop();
        expect(runs).toBe(1);
        expect(await queue.get('rt3')).toMatchObject({ status: 'done', attempts: 1 });
      } finally {
        await cleanup();
      }
    });

    it('re-queues a dead job once when two retries race, and the handler runs once', async () => {
      const { queue, cleanup } = await open(opts());
      try {
        let broken = true;
        let runs = 0;
        const c = queue.consume(async () => {
          runs++;
          if (broken) throw Object.assign(new Error('bad until fixed'), { retryable: false });
        });
        await queue.enqueue('rt4', { n: 1 });
        await until(async () => (await queue.get('rt4'))?.status === 'dead');
        broken = false;
        const answers = await Promise.all([queue.retry('rt4'), queue.retry('rt4')]);
        expect(answers.filter(Boolean)).toHaveLength(1);
        await until(async () => (await queue.get('rt4'))?.status === 'done');
        await sleep(400);
        await c.stop();
        expect(runs).toBe(2);
        expect(await queue.get('rt4')).toMatchObject({ status: 'done', attempts: 1 });
      } finally {
        await cleanup();
      }
    });

    it('does not let a worker of an attempt from before a retry finish the retried job', async () => {
      const { queue, cleanup } = await open(opts({ leaseMs, maxAttempts: 1 }));
      const release: (() => void)[] = [];
      try {
        const started: number[] = [];
        let dead = 0;
        let quiet = false;
        let staleReturned!: () => void;
        const staleDone = new Promise<void>((r) => {
          staleReturned = r;
        });
        const c = queue.consume(
          async (j) => {
            const k = started.push(j.attempt) - 1;
            let held = true;
            release[k] = () => {
              held = false;
            };
            // The first run hangs silently past its lease; the run after the retry renews its lease.
            let renewed = 0;
            while (held) {
              if (k > 0 && !quiet && Date.now() - renewed > leaseMs / 6) {
                await j.progress('working', 50);
                renewed = Date.now();
              }
              await sleep(10);
            }
            if (k === 0) staleReturned();
          },
          { concurrency: 3, onDead: async () => void dead++ },
        );
        await queue.enqueue('rt5', { n: 1 });
        // The next claim after the lease finds every attempt used: dead.
        await until(async () => dead === 1);
        expect(await queue.retry('rt5')).toBe(true);
        await until(async () => (await queue.get('rt5'))?.stage === 'working');
        quiet = true; // no progress write from the live run can hide the stale run's write
        release[0]?.();
        await staleDone;
        await sleep(Math.min(100, leaseMs / 3));
        expect(await queue.get('rt5')).toMatchObject({ status: 'running', attempts: 1 });
        quiet = false;
        release[1]?.();
        await until(async () => (await queue.get('rt5'))?.status === 'done');
        await c.stop();
        expect(started).toEqual([1, 1]);
        expect(dead).toBe(1);
      } finally {
        for (const r of release) r();
        await cleanup();
      }
    });

    it('hands a job whose lease expired to another worker', async () => {
      const { queue, cleanup } = await open(opts({ leaseMs }));
      try {
        const attempts: number[] = [];
        let release!: () => void;
        const stuck = new Promise<void>((r) => {
          release = r;
        });
        const c = queue.consume(
          async (j) => {
            attempts.push(j.attempt);
            if (j.attempt === 1) await stuck;
          },
          { concurrency: 2 },
        );
        await queue.enqueue('l1', { n: 1 });
        await until(async () => attempts.length === 2 && (await queue.get('l1'))?.status === 'done');
        release();
        await c.stop();
        expect(attempts).toEqual([1, 2]);
        expect(await queue.get('l1')).toMatchObject({ status: 'done', attempts: 2 });
      } finally {
        await cleanup();
      }
    });
  });
}
