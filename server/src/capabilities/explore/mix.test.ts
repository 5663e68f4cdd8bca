import { describe, expect, it } from 'vitest';
import { type ExploreLists, START, walk } from './mix.js';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const none = () => false;

describe('walk', () => {
  it('gives every n-th slot to trending and the others to personal', () => {
    const lists: ExploreLists = { personal: ids('p', 10), trending: ids('t', 10), popular: ids('q', 10) };
    const r = walk(lists, START, { want: 6, every: 3, skip: none });
    expect(r.items.map((w) => `${w.source}:${w.id}`)).toEqual([
      'personal:p0',
      'personal:p1',
      'trending:t0',
      'personal:p2',
      'personal:p3',
      'trending:t1',
    ]);
    expect(r.exhausted).toBe(false);
  });

  it('fills a missing or used-up list from popular, then from the other list, and says when all are used up', () => {
    const missing = walk({ personal: undefined, trending: ids('t', 5), popular: ids('q', 2) }, START, {
      want: 20,
      every: 3,
      skip: none,
    });
    expect(missing.items.map((w) => `${w.source}:${w.id}`)).toEqual([
      'popular:q0',
      'popular:q1',
      'trending:t0',
      'trending:t1',
      'trending:t2',
      'trending:t3',
      'trending:t4',
    ]);
    expect(missing.exhausted).toBe(true);
    const bothGone = walk({ personal: undefined, trending: undefined, popular: ids('q', 3) }, START, {
      want: 3,
      every: 3,
      skip: none,
    });
    expect(bothGone.items.map((w) => w.source)).toEqual(['popular', 'popular', 'popular']);
    expect(bothGone.exhausted).toBe(true);
  });

  it('passes over shown ids and ids already taken from another list', () => {
    const lists: ExploreLists = {
      personal: ['a', 'b', 'c', 'd'],
      trending: ['a', 'c', 'e'],
      popular: ['b', 'f'],
    };
    const r = walk(lists, START, { want: 10, every: 2, skip: (id) => id === 'd' });
    expect(r.items.map((w) => w.id)).toEqual(['a', 'c', 'b', 'e', 'f']);
    expect(new Set(r.items.map((w) => w.id)).size).toBe(r.items.length);
    expect(r.exhausted).toBe(true);
  });

  it('pages exactly: walking page by page from each last position is the one long walk', () => {
    const lists: ExploreLists = { personal: ids('p', 23), trending: ids('t', 9), popular: ids('q', 11) };
    const whole = walk(lists, START, { want: 1000, every: 4, skip: none });
    const paged: string[] = [];
    let from = START;
    for (;;) {
      const page = walk(lists, from, { want: 5, every: 4, skip: none });
      paged.push(...page.items.map((w) => w.id));
      const last = page.items.at(-1);
      if (!last || page.exhausted) break;
      from = last.after;
    }
    expect(paged).toEqual(whole.items.map((w) => w.id));
    expect(paged).toHaveLength(23 + 9 + 11);
  });
});
