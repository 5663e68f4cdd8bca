import type { CapabilityPorts } from '../operation.js';
import { type TrendingParts, trendingParts } from '../trending/index.js';
import { PickJobs } from './jobs.js';
import { computePicks } from './picks.js';

/** What explore keeps per node besides the ports. */
export interface ExploreParts {
  jobs: PickJobs;
  /** Its trending list, popular fallback and cache guard are trending's (one per node). */
  trending: TrendingParts;
}

/** Per node, keyed by its explore store. */
const nodes = new WeakMap<object, ExploreParts>();

export function exploreParts(ports: CapabilityPorts): ExploreParts {
  let p = nodes.get(ports.explore);
  if (!p) {
    const e = ports.config.explore;
    const jobs = new PickJobs(
      async (userId) => {
        const computedAt = ports.now();
        const ids = await computePicks(ports.db, userId, {
          picks: e.picks,
          sinceMs: computedAt - e.windowHours * 3_600_000,
          budgetMs: e.jobBudgetMs,
        });
        await ports.explore.putPicks(userId, { computedAt, ids });
      },
      { concurrency: e.jobConcurrency, maxPending: e.maxPendingJobs, log: ports.log },
    );
    p = { jobs, trending: trendingParts(ports) };
    nodes.set(ports.explore, p);
  }
  return p;
}
