import type { Logger } from '../../log.js';
import type { Databases } from '../../storage/databases.js';
import { eventLog, logAdd } from './decay.js';
import type { ScoreChange, TrendingStore } from './trending-store.js';

export interface TallyOptions {
  halfLifeMs: number;
  likeWeight: number;
  commentWeight: number;
  maxPosts: number;
  maxTags: number;
  /** Posts with pending changes held at most (further posts' changes are dropped until a write succeeds). */
  maxPending: number;
  now: () => number;
  log: Logger;
}

/** A post's pending change, in log form (`-Infinity`: none). */
interface Pending {
  add: number;
  sub: number;
}

const NONE = Number.NEGATIVE_INFINITY;

/**
 * The engagement this node committed, summed per post until the next
 * write to the trending sets. Domain events are node-local (each like or
 * comment is seen by the node that committed it, only), and the sets are
 * sums, so every node adds its own share. Recording is synchronous and
 * never fails (it runs inside the like's commit path: `events.emit` awaits
 * handlers); the write (`flush`, every TRENDING_FLUSH_MS) reads the posts'
 * hashtags and visibility (one query per database holding some), leaves
 * out posts that are deleted or whose author is private or gone (they
 * never trend), and applies posts and hashtags in one store call. A hot
 * post taking thousands of likes a second costs one member change per
 * flush. A failed write keeps its changes for the next (a batch whose
 * connection broke mid-write may then count twice; bounded by maxPending).
 */
export class EngagementTally {
  private pending = new Map<string, Pending>();
  private removed = new Set<string>();
  private flushing: Promise<void> | undefined;
  private dropped = 0;

  /** `facts` reads the posts' hashtags and visibility (`postFacts` over the node's databases). */
  constructor(
    private readonly facts: (postIds: readonly string[]) => Promise<Map<string, PostFacts>>,
    private readonly store: TrendingStore,
    private readonly o: TallyOptions,
  ) {}

  /** Changes waiting for the next write (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  like(postId: string, at: number): void {
    this.record(postId, eventLog(this.o.likeWeight, at, this.o.halfLifeMs), NONE);
  }

  unlike(postId: string, at: number): void {
    this.record(postId, NONE, eventLog(this.o.likeWeight, at, this.o.halfLifeMs));
  }

  comment(postId: string, at: number): void {
    this.record(postId, eventLog(this.o.commentWeight, at, this.o.halfLifeMs), NONE);
  }

  uncomment(postId: string, at: number): void {
    this.record(postId, NONE, eventLog(this.o.commentWeight, at, this.o.halfLifeMs));
  }

  /** A deleted post leaves the trending set at the next write. */
  deleted(postId: string): void {
    this.pending.delete(postId);
    this.removed.add(postId);
  }

  /** Writes what is pending; one write at a time (a call during one waits for it, then writes the rest). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0 && this.removed.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private record(postId: string, add: number, sub: number): void {
    const p = this.pending.get(postId);
    if (p) {
      p.add = logAdd(p.add, add);
      p.sub = logAdd(p.sub, sub);
    } else if (this.pending.size < this.o.maxPending) {
      this.pending.set(postId, { add, sub });
    } else this.dropped++;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    const removed = this.removed;
    this.pending = new Map();
    this.removed = new Set();
    try {
      const facts = await this.facts([...batch.keys()]);
      const posts: ScoreChange[] = [];
      const tags = new Map<string, Pending>();
      for (const [postId, p] of batch) {
        const f = facts.get(postId);
        if (!f || f.hidden || removed.has(postId)) continue;
        posts.push({ member: postId, add: p.add, sub: p.sub });
        for (const tag of f.hashtags) {
          const t = tags.get(tag);
          if (t) {
            t.add = logAdd(t.add, p.add);
            t.sub = logAdd(t.sub, p.sub);
          } else tags.set(tag, { add: p.add, sub: p.sub });
        }
      }
      await this.store.apply(
        { posts, tags: [...tags].map(([member, t]) => ({ member, ...t })), removePosts: [...removed] },
        { maxPosts: this.o.maxPosts, maxTags: this.o.maxTags },
      );
      if (this.dropped > 0) {
        this.o.log.warn({ dropped: this.dropped }, 'trending: score changes dropped while writes failed');
        this.dropped = 0;
      }
    } catch (err) {
      for (const [postId, p] of batch) this.record(postId, p.add, p.sub);
      for (const id of removed) if (!this.pending.has(id)) this.removed.add(id);
      this.o.log.warn(
        { err, pending: this.pending.size },
        'trending: writing score changes failed; kept for the next write',
      );
    }
  }
}

/** What a write needs to know of each post: its hashtags, and whether it may trend. */
export interface PostFacts {
  hashtags: string[];
  /** Deleted, or its author is private or gone. */
  hidden: boolean;
}

/** One query per database holding some of the posts (a post lives with its author). */
export async function postFacts(db: Databases, ids: readonly string[]): Promise<Map<string, PostFacts>> {
  if (ids.length === 0) return new Map();
  const rows = await db.each(ids, async (sql, part) => {
    const r = await sql.query<{ id: string; hashtags: string[]; hidden: boolean }>(
      `SELECT p.id::text AS id, p.hashtags,
              (p.deleted_at IS NOT NULL OR u.id IS NULL OR u.deleted_at IS NOT NULL OR u.private) AS hidden
         FROM posts p LEFT JOIN users u ON u.id = p.author_id
        WHERE p.id = ANY($1::uuid[])`,
      [part],
    );
    return r.rows;
  });
  return new Map(rows.map((r) => [r.id, { hashtags: r.hashtags, hidden: r.hidden }]));
}
