import {
  createUploader,
  type ShutterClient,
  type Subscription,
  type Uploader,
  watchPost,
} from '@shutter/client-sdk';
import { newId, shardOfId } from '@shutter/protocol';
import type { Vu } from '../runner/scenario.js';

/**
 * What one user of `day-in-the-life` does, and how often. The weights are
 * the per-user daily counts of docs/capacity.md ("Load per user"), so a VU
 * lives a compressed day in the same proportions as a real one:
 *
 * | action | a day per user | source |
 * | --- | --- | --- |
 * | `view`: a post on screen (`posts.get`, then `watchPost` for the dwell) | 50 | the 50 photo views a day capacity.md cites |
 * | `feed`: a feed page (scrolling on by the cursor, or back to the top) | 10 | capacity.md's assumption (200 posts seen) |
 * | `like` | 8.4 | 4.2 B likes a day ÷ 500 M daily users |
 * | `unlike`: one of my likes taken back | 0.4 | assumption: one like in twenty |
 * | `comment` | 1 | capacity.md's assumption |
 * | `follow` / `unfollow` | 0.4 / 0.1 | assumption: a new account followed every few days, a fifth of that dropped |
 * | `post`: an upload that becomes a post | 0.2 | 100 M photos a day ÷ 500 M daily users |
 */
export const MIX = [
  ['view', 50],
  ['feed', 10],
  ['like', 8.4],
  ['unlike', 0.4],
  ['comment', 1],
  ['follow', 0.4],
  ['unfollow', 0.1],
  ['post', 0.2],
] as const;

export type Action = (typeof MIX)[number][0];
export const ACTIONS: readonly Action[] = MIX.map(([a]) => a);
const WEIGHT = MIX.reduce((s, [, w]) => s + w, 0);

/** A weighted draw from MIX. */
export function pickAction(r = Math.random()): Action {
  let x = r * WEIGHT;
  for (const [a, w] of MIX) if ((x -= w) < 0) return a;
  return 'view';
}

export interface DayData {
  /** The VUs' users (seeded, ordinary users spread over the population). */
  readers: string[];
  /** Accounts to follow: a sample of the seeded users. */
  candidates: string[];
  /** Small JPEGs (base64), all different: a VU uploads image (id + 7k) mod n on its k-th upload. */
  images: string[];
}

interface MediaEnd {
  ok: boolean;
  at: number;
}

export interface DayState {
  client: ShutterClient;
  me: string;
  uploader: Uploader;
  /** Post ids of the last feed page (what the user has on screen to view, like, comment on). */
  seen: string[];
  /** Their authors (other than me): people I follow, the ones an unfollow drops. */
  seenAuthors: string[];
  /** The feed's next page while scrolling; undefined: the next read is the top. */
  cursor: string | undefined;
  pagesRead: number;
  /** The last acknowledged like state of each post this user liked or unliked. */
  liked: Map<string, boolean>;
  /** Accounts followed in this run (unfollow candidates). */
  followed: string[];
  uploads: number;
  /** Posts this user created in the run. */
  created: string[];
  /** media.ready / media.failed on `user:<me>:media`, by media id, and who waits for one. */
  mediaEnds: Map<string, MediaEnd>;
  mediaWaiters: Map<string, (e: MediaEnd) => void>;
  mediaSub: Subscription;
}

type DayVu = Vu<DayData, DayState>;
let printed = 0;

const any = <T>(list: readonly T[]): T | undefined => list[Math.floor(Math.random() * list.length)];

/** Connects the user's client and opens its media stream (where upload → ready arrives). */
export async function connectUser(vu: DayVu, me: string): Promise<DayState> {
  const client = vu.client({ sub: me });
  const token = vu.token(me);
  const s: DayState = {
    client,
    me,
    uploader: createUploader({ url: vu.target.wsUrl, getToken: async () => token }),
    seen: [],
    seenAuthors: [],
    cursor: undefined,
    pagesRead: 0,
    liked: new Map(),
    followed: [],
    uploads: 0,
    created: [],
    mediaEnds: new Map(),
    mediaWaiters: new Map(),
    mediaSub: undefined as unknown as Subscription,
  };
  s.mediaSub = client.subscribe<{ type: string; mediaId: string }>(`user:${me}:media`, (e) => {
    if (e.data.type !== 'media.ready' && e.data.type !== 'media.failed') return;
    const end = { ok: e.data.type === 'media.ready', at: performance.now() };
    const w = s.mediaWaiters.get(e.data.mediaId);
    if (w) w(end);
    else s.mediaEnds.set(e.data.mediaId, end);
  });
  client.connect();
  await client.ready(60_000);
  const t0 = Date.now();
  while (s.mediaSub.state !== 'subscribed') {
    if (Date.now() - t0 > 30_000) throw new Error('media stream not subscribed within 30 s');
    if (!(await vu.sleep(20))) break;
  }
  return s;
}

/**
 * Runs one action, timed, counted as the action it became (one with
 * nothing to act on falls back: a like with no post on screen reads the
 * feed); an error is counted (per action picked) and the day goes on.
 */
export async function act(vu: DayVu, s: DayState, action: Action): Promise<void> {
  vu.metrics.counter('actions').add();
  try {
    vu.metrics.counter(`actions{action:${await ACT[action](vu, s)}}`).add();
  } catch (e) {
    vu.metrics.counter(`actions{action:${action}}`).add();
    vu.metrics.counter('action_errors').add();
    vu.metrics.counter(`action_errors{action:${action}}`).add();
    if (printed++ < 5)
      process.stderr.write(`  ! VU ${vu.id} ${action}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

async function timed<T>(vu: DayVu, metric: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await f();
  vu.metrics.trend(metric).add(performance.now() - t);
  return r;
}

/** Each action; answers what it did (itself, or its fallback). */
const ACT: Record<Action, (vu: DayVu, s: DayState) => Promise<Action>> = {
  async feed(vu, s) {
    // Scroll on up to three pages, then back to the top (a refresh).
    const cursor = s.pagesRead % 3 === 0 ? undefined : s.cursor;
    // A user's very first page rebuilds the feed from Postgres (nothing cached yet): kept apart.
    const metric = s.pagesRead === 0 ? 'feed_page_cold_ms' : 'feed_page_ms';
    const r = await timed(vu, metric, () =>
      s.client.api.feed.get({ limit: 20, ...(cursor ? { cursor } : {}) }),
    );
    s.pagesRead++;
    s.cursor = r.nextCursor ?? undefined;
    if (!s.cursor) s.pagesRead = 0;
    if (cursor === undefined) vu.check('the top of the feed has posts', r.items.length > 0);
    if (r.items.length > 0) {
      s.seen = r.items.map((p) => p.id);
      s.seenAuthors = [...new Set(r.items.map((p) => p.author.id))].filter((a) => a !== s.me);
    }
    return 'feed';
  },

  async view(vu, s) {
    const id = any(s.seen);
    if (!id) return ACT.feed(vu, s);
    const { post } = await timed(vu, 'view_get_ms', () => s.client.api.posts.get({ id }));
    // On screen: the live counts, from the first update (one comes within an interval of subscribing).
    const t = performance.now();
    let first: (() => void) | undefined;
    const got = new Promise<void>((r) => (first = r));
    let updates = 0;
    const view = watchPost(s.client, id, () => {
      if (updates++ === 0) {
        vu.metrics.trend('view_counts_ms').add(performance.now() - t);
        first?.();
      }
    });
    try {
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([
        got.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000))),
      ]);
      clearTimeout(timer);
      if (!ok) vu.metrics.counter('view_counts_missing').add();
      vu.check('a viewed post gets its live counts', ok);
      vu.check('a post read answers its id', post.id === id);
      // The dwell: a look at the photo while its counts stay live.
      await vu.sleep(500 + Math.random() * 1500);
    } finally {
      await view.unsubscribe();
    }
    return 'view';
  },

  async like(vu, s) {
    const id = any(s.seen.filter((p) => s.liked.get(p) !== true));
    if (!id) return ACT.feed(vu, s);
    const r = await timed(vu, 'like_ms', () => s.client.api.likes.like({ id }));
    s.liked.set(id, r.liked);
    vu.check('a like answers liked', r.liked);
    return 'like';
  },

  async unlike(vu, s) {
    const id = any([...s.liked].filter(([, l]) => l).map(([p]) => p));
    if (!id) return ACT.like(vu, s);
    const r = await timed(vu, 'unlike_ms', () => s.client.api.likes.unlike({ id }));
    s.liked.set(id, r.liked);
    vu.check('an unlike answers not liked', !r.liked);
    return 'unlike';
  },

  async comment(vu, s) {
    const id = any(s.seen);
    if (!id) return ACT.feed(vu, s);
    const commentId = newId(shardOfId(id) ?? 0);
    const text = `nice one ${vu.id}.${vu.iteration} @seed_${Math.floor(Math.random() * 100)}`;
    const r = await timed(vu, 'comment_ms', () => s.client.api.comments.add({ id, commentId, text }));
    vu.check('a comment is stored as sent', r.comment.id === commentId && r.comment.text === text);
    return 'comment';
  },

  async follow(vu, s) {
    const id = any(vu.data.candidates.filter((u) => u !== s.me && !s.followed.includes(u)));
    if (!id) return ACT.view(vu, s);
    const r = await timed(vu, 'follow_ms', () => s.client.api.graph.follow({ id }));
    vu.check('a follow is active', r.state === 'active');
    s.followed.push(id);
    return 'follow';
  },

  async unfollow(vu, s) {
    // Someone followed today, else an author on my feed (someone I follow).
    const id = s.followed.shift() ?? any(s.seenAuthors);
    if (!id) return ACT.follow(vu, s);
    s.seenAuthors = s.seenAuthors.filter((a) => a !== id);
    const r = await timed(vu, 'unfollow_ms', () => s.client.api.graph.unfollow({ id }));
    vu.check('an unfollow answers none', r.state === 'none');
    return 'unfollow';
  },

  async post(vu, s) {
    const images = vu.data.images;
    const bytes = Buffer.from(images[(vu.id + 7 * s.uploads++) % images.length]!, 'base64');
    const up = await timed(
      vu,
      'upload_ms',
      () => s.uploader.upload(bytes, { contentType: 'image/jpeg' }).done,
    );
    // Complete → ready: processing (variants, placeholder) and the event on the user's media stream.
    const t = performance.now();
    const end = up.status === 'ready' ? { ok: true, at: t } : await mediaEnd(s, up.mediaId, 30_000);
    if (!end) vu.metrics.counter('media_ready_missing').add();
    else if (up.status !== 'ready') vu.metrics.trend('upload_ready_ms').add(end.at - t);
    if (!vu.check('an upload ends ready', end?.ok === true)) return 'post';
    const id = newId(shardOfId(s.me) ?? 0);
    const r = await timed(vu, 'post_create_ms', () =>
      s.client.api.posts.create({
        id,
        mediaIds: [up.mediaId],
        caption: `my day, part ${s.uploads} #loadtest`,
      }),
    );
    vu.check('a post is created from the upload', r.post.id === id && r.post.media.length === 1);
    s.created.push(id);
    vu.metrics.counter('posts_created').add();
    return 'post';
  },
};

function mediaEnd(s: DayState, mediaId: string, timeoutMs: number): Promise<MediaEnd | undefined> {
  const had = s.mediaEnds.get(mediaId);
  if (had) {
    s.mediaEnds.delete(mediaId);
    return Promise.resolve(had);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.mediaWaiters.delete(mediaId);
      resolve(undefined);
    }, timeoutMs);
    s.mediaWaiters.set(mediaId, (e) => {
      clearTimeout(timer);
      s.mediaWaiters.delete(mediaId);
      resolve(e);
    });
  });
}

/**
 * The user's own end-of-day check through the API: each post it liked or
 * unliked says `likedByMe` as its last acknowledged answer did, and each
 * post it created can be read.
 */
export async function checkOwnState(vu: DayVu, s: DayState): Promise<void> {
  let mismatched = 0;
  for (const [id, liked] of s.liked) {
    const { post } = await s.client.api.posts.get({ id });
    if (post.likedByMe !== liked) mismatched++;
  }
  vu.metrics.counter('liked_state_mismatch').add(mismatched);
  vu.check('every post I touched says my last acknowledged like state', mismatched === 0);
  let missing = 0;
  for (const id of s.created)
    await s.client.api.posts.get({ id }).catch(() => {
      missing++;
    });
  vu.metrics.counter('created_posts_missing').add(missing);
  vu.check('every post I created can be read', missing === 0);
}

/** Think time: exponential around `meanMs` (people pause unevenly), at most four times it. */
export function thinkMs(meanMs: number): number {
  return Math.min(4 * meanMs, -Math.log(1 - Math.random()) * meanMs);
}
