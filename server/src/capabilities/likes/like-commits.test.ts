import { newId } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import type { Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';
import { DomainEvents, type EventOf } from '../events.js';
import type { LikeBatchOutcome, LikeChange } from './like-batch.js';
import { LikeCommits } from './like-commits.js';

/**
 * The group commit's rules, with the batch statement replaced by an
 * in-memory set per post whose commits the test releases one by one, on
 * one database of one lane (PGlite's)
 * (`like-batch.ts` itself runs against Postgres in server/test/likes-*.test.ts).
 */
const [P1, P2, GONE, A, B, C, U] = Array.from({ length: 7 }, (_, i) => newId(i)) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];

/** A commit as the store got it: per post, who likes and who unlikes. */
type Batch = { postId: string; likers: string[]; unlikers: string[] }[];

class Store {
  readonly likes = new Map<string, Set<string>>();
  readonly batches: Batch[] = [];
  /** Commits waiting to be released, oldest first. */
  private readonly gates: (() => void)[] = [];
  missing = new Set<string>();

  commit = async (_sql: Sql, changes: readonly LikeChange[]) => {
    const batch: Batch = [];
    for (const c of changes) {
      let entry = batch.find((b) => b.postId === c.postId);
      if (!entry) batch.push((entry = { postId: c.postId, likers: [], unlikers: [] }));
      (c.liked ? entry.likers : entry.unlikers).push(c.userId);
    }
    this.batches.push(batch);
    await new Promise<void>((r) => this.gates.push(r));
    const outcomes = new Map<string, LikeBatchOutcome>();
    for (const { postId, likers, unlikers } of batch) {
      if (this.missing.has(postId)) continue;
      const set = this.likes.get(postId) ?? new Set<string>();
      this.likes.set(postId, set);
      const out: LikeBatchOutcome = { authorId: 'author', liked: [], unliked: [], likeCount: 0 };
      for (const u of likers) {
        if (set.has(u)) continue;
        set.add(u);
        out.liked.push({ userId: u, at: 1 });
      }
      for (const u of unlikers) if (set.delete(u)) out.unliked.push(u);
      out.likeCount = set.size;
      outcomes.set(postId, out);
    }
    return outcomes;
  };

  /** Lets the oldest waiting commit finish; resolves once its answers went out. */
  async release(): Promise<void> {
    const gate = this.gates.shift();
    if (!gate) throw new Error('no commit is waiting');
    gate();
    await new Promise((r) => setTimeout(r, 0));
  }

  get waiting(): number {
    return this.gates.length;
  }
}

function setup() {
  const store = new Store();
  const events = new DomainEvents();
  const seen: EventOf<'likes.changed'>[] = [];
  events.on('likes.changed', (e) => {
    seen.push(e);
  });
  const logged: unknown[] = [];
  const sql = { kind: 'pglite' } as Sql;
  const db = { forId: () => sql } as unknown as Databases;
  const ports = { db, events, log: { error: (...a: unknown[]) => logged.push(a) } };
  return { store, seen, logged, events, commits: new LikeCommits(ports, store.commit) };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('LikeCommits', () => {
  it('takes the requests of one tick in one commit, and answers each after it', async () => {
    const { store, seen, commits } = setup();
    let answered = 0;
    const p = [A, B, C].map(async (u) => {
      const r = await commits.submit(P1, { userId: u, liked: true });
      answered++;
      return r;
    });
    await tick();
    expect(store.batches).toEqual([[{ postId: P1, likers: [A, B, C], unlikers: [] }]]);
    expect(answered).toBe(0); // nothing answered before the commit
    await store.release();
    expect(await Promise.all(p)).toEqual([
      { postId: P1, liked: true, likeCount: 3 },
      { postId: P1, liked: true, likeCount: 3 },
      { postId: P1, liked: true, likeCount: 3 },
    ]);
    expect(seen).toEqual([
      {
        type: 'likes.changed',
        postId: P1,
        authorId: 'author',
        liked: [A, B, C].map((userId) => ({ userId, at: 1 })),
        unliked: [],
        likeCount: 3,
      },
    ]);
  });

  it('queues what arrives during a commit for the next one, where each user’s last request wins', async () => {
    const { store, seen, commits } = setup();
    const first = commits.submit(P1, { userId: A, liked: true });
    await tick();
    expect(store.waiting).toBe(1);
    const later = [
      commits.submit(P1, { userId: A, liked: false }),
      commits.submit(P1, { userId: B, liked: false }),
      commits.submit(P1, { userId: B, liked: true }),
      commits.submit(P1, { userId: A, liked: true }),
      commits.submit(P1, { userId: A, liked: false }),
    ];
    await tick();
    expect(store.batches).toHaveLength(1); // one transaction in flight per lane
    await store.release();
    expect(await first).toEqual({ postId: P1, liked: true, likeCount: 1 });
    expect(store.batches[1]).toEqual([{ postId: P1, likers: [B], unlikers: [A] }]);
    await store.release();
    // Every request of a user answers that user's state after the commit.
    expect((await Promise.all(later)).map((r) => `${r.liked}/${r.likeCount}`)).toEqual([
      'false/1',
      'true/1',
      'true/1',
      'false/1',
      'false/1',
    ]);
    expect(seen.map((e) => [e.liked.map((l) => l.userId), e.unliked, e.likeCount])).toEqual([
      [[A], [], 1],
      [[B], [A], 1],
    ]);
  });

  it('commits several posts in one transaction; a missing or deleted post fails only its own requests', async () => {
    const { store, seen, commits } = setup();
    store.missing.add(GONE);
    const first = commits.submit(P1, { userId: U, liked: true });
    await tick();
    // Arriving while P1's commit is in flight: all of them go in the next transaction.
    const next = [
      commits.submit(P2, { userId: U, liked: true }),
      commits.submit(GONE, { userId: A, liked: true }),
      commits.submit(P1, { userId: A, liked: true }),
      commits.submit(GONE, { userId: B, liked: false }),
    ].map((x) => x.catch((e: { code?: string }) => e.code));
    await tick();
    await store.release();
    await first;
    expect(store.batches[1]).toEqual([
      { postId: P2, likers: [U], unlikers: [] },
      { postId: GONE, likers: [A], unlikers: [B] },
      { postId: P1, likers: [A], unlikers: [] },
    ]);
    await store.release();
    expect(await Promise.all(next)).toEqual([
      { postId: P2, liked: true, likeCount: 1 },
      'not_found',
      { postId: P1, liked: true, likeCount: 2 },
      'not_found',
    ]);
    // One event per post that changed, none for the missing one.
    expect(seen.map((e) => `${e.postId === P1 ? 'P1' : 'P2'}:${e.likeCount}`)).toEqual([
      'P1:1',
      'P2:1',
      'P1:2',
    ]);
  });

  it('emits nothing for a commit that changed nothing (retries), and answers committed likes though a handler fails', async () => {
    const { store, seen, logged, events, commits } = setup();
    const once = commits.submit(P1, { userId: A, liked: true });
    await tick();
    await store.release();
    await once;
    const again = commits.submit(P1, { userId: A, liked: true });
    await tick();
    await store.release();
    expect(await again).toEqual({ postId: P1, liked: true, likeCount: 1 });
    expect(seen).toHaveLength(1);

    events.on('likes.changed', () => {
      throw new Error('queue down');
    });
    const b = commits.submit(P1, { userId: B, liked: true });
    await tick();
    await store.release();
    expect(await b).toEqual({ postId: P1, liked: true, likeCount: 2 });
    expect(logged).toHaveLength(1);
  });

  it('refuses a request whose user or post is not an id alone, before any batch', async () => {
    const { store, commits } = setup();
    const good = commits.submit(P1, { userId: A, liked: true });
    const code = (p: Promise<unknown>) => p.catch((e: { code?: string }) => e.code);
    expect(await code(commits.submit(P1, { userId: 'warmup0', liked: true }))).toBe('bad_request');
    expect(await code(commits.submit('p1', { userId: A, liked: true }))).toBe('bad_request');
    await tick();
    expect(store.batches).toEqual([[{ postId: P1, likers: [A], unlikers: [] }]]);
    await store.release();
    expect(await good).toMatchObject({ liked: true, likeCount: 1 });
  });
});
