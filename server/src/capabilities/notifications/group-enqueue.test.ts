import { describe, expect, it } from 'vitest';
import { GroupEnqueue } from './group-enqueue.js';

describe('GroupEnqueue', () => {
  it('sends one item at once, then what arrived meanwhile in one batch, within the weight', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const g = new GroupEnqueue<number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
    }, 5);
    const first = g.add(1);
    const rest = [g.add(2, 2), g.add(3, 2), g.add(4, 2), g.add(5, 9)];
    expect(batches).toEqual([[1]]);
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3], [4], [5]]);
  });

  it('rejects every item of a batch whose enqueue failed, and goes on with the next', async () => {
    let calls = 0;
    const g = new GroupEnqueue<string>(async () => {
      calls++;
      if (calls === 1) throw new Error('down');
    }, 100);
    const a = g.add('a');
    const b = g.add('b');
    await expect(a).rejects.toThrow('down');
    await expect(b).resolves.toBeUndefined();
  });
});
