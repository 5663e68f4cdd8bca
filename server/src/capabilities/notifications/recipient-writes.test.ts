import { describe, expect, it } from 'vitest';
import { RecipientWrites } from './recipient-writes.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RecipientWrites', () => {
  it('runs at most N writes at once over all recipients, one recipient’s one after another, in order', async () => {
    const writes = new RecipientWrites(3);
    let running = 0;
    let most = 0;
    const perRecipient = new Map<string, number>();
    const order: string[] = [];
    const write = (recipient: string, i: number) =>
      writes.run(recipient, async () => {
        running++;
        most = Math.max(most, running);
        const mine = (perRecipient.get(recipient) ?? 0) + 1;
        perRecipient.set(recipient, mine);
        // A second write of the same recipient at once would hold a connection waiting on the row lock.
        expect(mine).toBe(1);
        await tick(2);
        perRecipient.set(recipient, mine - 1);
        running--;
        order.push(`${recipient}${i}`);
        return i;
      });
    const all = [];
    for (let i = 0; i < 10; i++) for (const r of ['a', 'b', 'c', 'd', 'e']) all.push(write(r, i));
    const results = await Promise.all(all);
    expect(results).toHaveLength(50);
    expect(most).toBe(3);
    expect(writes.peak).toBe(3);
    for (const r of ['a', 'b', 'c', 'd', 'e'])
      expect(order.filter((x) => x.startsWith(r))).toEqual([...Array(10).keys()].map((i) => `${r}${i}`));
  });

  it('a failed write frees its slot and its recipient', async () => {
    const writes = new RecipientWrites(1);
    await expect(
      writes.run('a', async () => {
        throw new Error('deadlock');
      }),
    ).rejects.toThrow('deadlock');
    expect(await writes.run('a', async () => 'next')).toBe('next');
    expect(await writes.run('b', async () => 'other')).toBe('other');
  });
});
