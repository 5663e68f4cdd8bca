import { describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import type { Databases } from '../../storage/databases.js';
import { PopularPosts } from './popular.js';

/** One in-process database whose answers the test sets: rows, or a failure. */
function oneDatabase() {
  let answer: () => Promise<{ rows: { member: string; score: number }[] }> = async () => ({ rows: [] });
  const db = { kind: 'pglite', query: () => answer() };
  return {
    dbs: { all: [db] } as unknown as Databases,
    answers: (f: typeof answer) => {
      answer = f;
    },
  };
}

const options = (now: () => number) => ({
  budgetMs: 50,
  waitMs: 50,
  cacheMs: 30_000,
  maxPosts: 10,
  maxTags: 10,
  likeWeight: 1,
  commentWeight: 2,
  now,
  log: createLogger('silent', 'test'),
});

describe('PopularPosts', () => {
  it('keeps serving its last list when a gathering gets nothing from any database, and asks again within a second', async () => {
    let now = 1_000_000;
    const { dbs, answers } = oneDatabase();
    const popular = new PopularPosts(
      dbs,
      options(() => now),
    );
    answers(async () => ({ rows: [{ member: 'p1', score: 3 }] }));
    const first = await popular.refresh();
    expect(first.posts.map((p) => p.member)).toEqual(['p1']);

    answers(async () => {
      throw new Error('database down');
    });
    now += 31_000;
    const kept = await popular.refresh();
    expect(kept.posts.map((p) => p.member)).toEqual(['p1']);
    expect(kept.partial).toBe(true);
    // A reader finds it due (partial: a second) and asks again in the background; it fails too, and p1 stays.
    expect((await popular.get()).posts.map((p) => p.member)).toEqual(['p1']);
    await new Promise((r) => setTimeout(r, 20));
    expect((await popular.get()).posts.map((p) => p.member)).toEqual(['p1']);
    await new Promise((r) => setTimeout(r, 20));

    answers(async () => ({ rows: [{ member: 'p2', score: 5 }] }));
    now += 1_000;
    popular.keepFresh();
    await new Promise((r) => setTimeout(r, 20));
    const back = await popular.get();
    expect(back.posts.map((p) => p.member)).toEqual(['p2']);
    expect(back.partial).toBe(false);
  });

  it('serves a gathering that answered with no post of the last day as empty', async () => {
    const { dbs, answers } = oneDatabase();
    const popular = new PopularPosts(
      dbs,
      options(() => 5_000_000),
    );
    answers(async () => ({ rows: [{ member: 'p1', score: 1 }] }));
    await popular.refresh();
    answers(async () => ({ rows: [] }));
    const empty = await popular.refresh();
    expect(empty.posts).toEqual([]);
    expect(empty.partial).toBe(false);
  });
});
