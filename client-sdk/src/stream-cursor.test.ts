import { describe, expect, it } from 'vitest';
import { StreamCursor } from './stream-cursor.js';

describe('StreamCursor', () => {
  it('delivers seq last+1, drops seq ≤ last, flags seq > last+1 and other epochs as gaps', () => {
    const c = new StreamCursor();
    expect(c.applyResult({ epoch: 'e1', seq: 10, status: 'fresh', missed: 0 })).toEqual({ kind: 'fresh' });
    expect(c.accept({ epoch: 'e1', seq: 11 })).toBe('deliver');
    expect(c.accept({ epoch: 'e1', seq: 11 })).toBe('duplicate');
    expect(c.accept({ epoch: 'e1', seq: 5 })).toBe('duplicate');
    expect(c.accept({ epoch: 'e1', seq: 13 })).toBe('gap');
    expect(c.position).toEqual({ epoch: 'e1', seq: 11 }); // a gap does not move it
    expect(c.accept({ epoch: 'e2', seq: 12 })).toBe('gap');
    expect(c.accept({ epoch: 'e1', seq: 12 })).toBe('deliver');
  });

  it('keeps the position on recovered so the missed events that follow are delivered', () => {
    const c = new StreamCursor({ epoch: 'e1', seq: 3 });
    expect(c.applyResult({ epoch: 'e1', seq: 6, status: 'recovered', missed: 3 })).toEqual({
      kind: 'recovered',
    });
    expect([4, 5, 6].map((seq) => c.accept({ epoch: 'e1', seq }))).toEqual(['deliver', 'deliver', 'deliver']);
  });

  it('jumps to the new position on refetch and reports the previous one', () => {
    const c = new StreamCursor({ epoch: 'e1', seq: 3 });
    expect(c.applyResult({ epoch: 'e2', seq: 40, status: 'refetch', missed: 0 })).toEqual({
      kind: 'refetch',
      previous: { epoch: 'e1', seq: 3 },
    });
    expect(c.accept({ epoch: 'e2', seq: 40 })).toBe('duplicate');
    expect(c.accept({ epoch: 'e2', seq: 41 })).toBe('deliver');
  });

  it('hands out copies of its position', () => {
    const c = new StreamCursor({ epoch: 'e1', seq: 1 });
    const p = c.position;
    if (p) p.seq = 99;
    expect(c.position).toEqual({ epoch: 'e1', seq: 1 });
  });
});
