import { int } from './settings.js';

/** Explore: recommendations per user, mixed with trending (issue 11 §5). */
export const exploreSettings = {
  refreshSeconds: int(
    'EXPLORE_REFRESH_SECONDS',
    600,
    1,
    7 * 86_400,
    "A user's recommendations older than this are computed again (in the background) when they next open explore.",
  ),
  picksTtlSeconds: int(
    'EXPLORE_PICKS_TTL_SECONDS',
    86_400,
    60,
    30 * 86_400,
    "A user's recommendations expire from the cache this long after they were computed.",
  ),
  picks: int('EXPLORE_PICKS', 200, 10, 2000, 'Recommended posts kept per user, best first.'),
  trendingEvery: int(
    'EXPLORE_TRENDING_EVERY',
    3,
    2,
    50,
    'Every n-th explore item is a trending post; the others are recommendations.',
  ),
  shownTtlSeconds: int(
    'EXPLORE_SHOWN_TTL_SECONDS',
    86_400,
    1,
    30 * 86_400,
    'A post explore showed a user is left out of their explore for this long.',
  ),
  shownMax: int(
    'EXPLORE_SHOWN_MAX',
    1000,
    10,
    100_000,
    'Recently shown posts remembered per user at most (the oldest are forgotten first).',
  ),
  jobConcurrency: int(
    'EXPLORE_JOB_CONCURRENCY',
    2,
    1,
    64,
    'Recommendation computations each node runs at once (in the background).',
  ),
  maxPendingJobs: int(
    'EXPLORE_MAX_PENDING_JOBS',
    10_000,
    1,
    1_000_000,
    'Users waiting for a recommendation computation on a node at most; further requests are dropped (asked again at their next explore).',
  ),
  jobBudgetMs: int(
    'EXPLORE_JOB_BUDGET_MS',
    2000,
    10,
    60_000,
    'Time budget of each question a recommendation computation asks every database; a late database is left out of that computation.',
  ),
  windowHours: int(
    'EXPLORE_WINDOW_HOURS',
    168,
    1,
    8760,
    'Only posts made within this many hours are recommended.',
  ),
  memoryUsers: int(
    'EXPLORE_MEMORY_USERS',
    10_000,
    1,
    10_000_000,
    'Without REDIS_URL: users whose recommendations and shown posts a node keeps in memory; the least recently used beyond are forgotten.',
  ),
};
