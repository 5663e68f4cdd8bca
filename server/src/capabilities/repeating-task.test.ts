import { describe, expect, it } from 'vitest';
import { startRepeatingTask } from './repeating-task.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startRepeatingTask', () => {
  it('runs after firstMs, then everyMs after each run ends, never two at once; stop waits for the run under way', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const errors: unknown[] = [];
    const t = startRepeatingTask(
      async () => {
        overlapped ||= running > 0;
        running++;
        runs++;
        await sleep(30);
        running--;
        if (runs === 2) throw new Error('second run fails');
      },
      { firstMs: 10, everyMs: 5, onError: (e) => errors.push(e) },
    );
    await sleep(150);
    await t.stop();
    const after = runs;
    expect(running).toBe(0);
    expect(after).toBeGreaterThanOrEqual(3);
    expect(overlapped).toBe(false);
    // The failed run was reported and the next ones ran anyway.
    expect(errors).toHaveLength(1);
    await sleep(60);
    expect(runs).toBe(after);
  });
});
