import { randomUUID } from 'node:crypto';
import type { FeedEntry, FeedStore, FeedStoreOptions } from './feed-store.js';

interface Feed {
  /** Newest first, no duplicates. */
  ids: string[];
  built: boolean;
  /** Builds in progress (their `beginBuild` tokens). */
  builds: Set<string>;
}

export interface MemoryFeedStoreOptions extends FeedStoreOptions {
  /** Feeds held at most; the least recently used one beyond is evicted (and rebuilt when read). */
  maxFeeds: number;
}

/**
 * The embedded feed store: feeds in this process, at most `maxFeeds` of
 * them (least recently read or written evicted first: a later read finds
 * it missing and rebuilds it, as after a Redis eviction). Lost on restart,
 * which is a miss like any other.
 */
export class MemoryFeedStore implements FeedStore {
  readonly kind = 'memory' as const;
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly o: MemoryFeedStoreOptions) {}

  async page(
    reader: string,
    opts: { before?: string | undefined; limit: number },
  ): Promise<string[] | undefined> {
    const f = this.touch(reader);
    if (!f?.built) return undefined;
    const from = opts.before === undefined ? 0 : firstOlder(f.ids, opts.before);
    return f.ids.slice(from, from + opts.limit);
  }

  async add(entries: readonly FeedEntry[]): Promise<void> {
    for (const e of entries) {
      const f = this.touch(e.reader);
      if (f) f.ids = merge(f.ids, e.ids, this.o.maxItems);
    }
  }

  async remove(entries: readonly FeedEntry[]): Promise<void> {
    for (const e of entries) {
      const f = this.feeds.get(e.reader);
      if (!f) continue;
      const gone = new Set(e.ids);
      f.ids = f.ids.filter((id) => !gone.has(id));
    }
  }

  async beginBuild(reader: string): Promise<string> {
    const token = randomUUID();
    let f = this.touch(reader);
    if (!f) {
      f = { ids: [], built: false, builds: new Set() };
      this.feeds.set(reader, f);
      this.evict();
    }
    f.builds.add(token);
    return token;
  }

  async finishBuild(reader: string, token: string, ids: readonly string[]): Promise<boolean> {
    const f = this.feeds.get(reader);
    if (!f?.builds.delete(token)) return false;
    f.ids = merge(f.ids, ids, this.o.maxItems);
    f.built = true;
    return true;
  }

  async drop(readers: readonly string[]): Promise<void> {
    for (const r of readers) this.feeds.delete(r);
  }

  async close(): Promise<void> {
    this.feeds.clear();
  }

  /** The reader's feed, moved to the most recently used end. */
  private touch(reader: string): Feed | undefined {
    const f = this.feeds.get(reader);
    if (f) {
      this.feeds.delete(reader);
      this.feeds.set(reader, f);
    }
    return f;
  }

  private evict(): void {
    for (const reader of this.feeds.keys()) {
      if (this.feeds.size <= this.o.maxFeeds) return;
      this.feeds.delete(reader);
    }
  }
}

/** Index of the first id (in a newest-first list) strictly older than `before`. */
function firstOlder(ids: readonly string[], before: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ids[mid] as string) >= before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `a` (newest first) with `b` merged in, without duplicates, the newest `max` kept. */
function merge(a: readonly string[], b: readonly string[], max: number): string[] {
  if (b.length === 0) return a.length > max ? a.slice(0, max) : [...a];
  const all = [...new Set([...a, ...b])].sort().reverse();
  return all.length > max ? all.slice(0, max) : all;
}
