import { int } from './settings.js';

/** Live views of posts: leases on `post:<id>` and the coalesced counts its viewers get (issue 10 §2). */
export const liveSettings = {
  postViewLeaseMs: int(
    'POST_VIEW_LEASE_MS',
    30_000,
    1000,
    600_000,
    "A subscription to a post's live stream (`post:<id>`) lapses this long after its last `sub` unless the client renews it (the SDK renews at half of it), and the viewer stops counting in the post's `viewers`. Must be less than ACTOR_IDLE_MS.",
  ),
  countsPerSecond: int(
    'LIVE_COUNTS_PER_SECOND',
    4,
    1,
    50,
    "At most this many count updates a second on a post's live stream (so to each viewer); changes in between are coalesced, and the last update after changes stop always carries the true counts.",
  ),
};
