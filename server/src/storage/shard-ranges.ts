import { LOGICAL_SHARDS } from '@shutter/protocol';

/** One database and the logical shards it holds (`from`–`to`, inclusive). */
export interface ShardRange {
  from: number;
  to: number;
  url: string;
}

/**
 * Parses `DATABASE_SHARDS`: a comma-separated list of `<from>-<to>=<url>`
 * (inclusive logical-shard ranges, 0–1023) that together cover every logical
 * shard exactly once, for example
 * `0-511=postgres://db-a/shutter,512-1023=postgres://db-b/shutter`. Several
 * ranges may name the same URL. Returns the ranges sorted, or the problems,
 * each one sentence.
 *
 * Growing is moving a range to a new database (copy its rows, then change
 * this setting): an id's logical shard never changes.
 */
export function parseShardRanges(text: string): { ranges: ShardRange[]; problems: string[] } {
  const problems: string[] = [];
  const ranges: ShardRange[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d{1,4})-(\d{1,4})=(postgres(?:ql)?:\/\/\S+)$/.exec(part);
    if (!m) {
      problems.push(
        `DATABASE_SHARDS: "${part.slice(0, 80)}" is not <from>-<to>=postgres://… (for example 0-511=postgres://db-a/shutter).`,
      );
      continue;
    }
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from > to || to >= LOGICAL_SHARDS) {
      problems.push(`DATABASE_SHARDS: ${from}-${to} is not a range within 0-${LOGICAL_SHARDS - 1}.`);
      continue;
    }
    ranges.push({ from, to, url: m[3] as string });
  }
  ranges.sort((a, b) => a.from - b.from);
  if (problems.length === 0) {
    let next = 0;
    for (const r of ranges) {
      if (r.from > next)
        problems.push(`DATABASE_SHARDS: logical shards ${next}-${r.from - 1} have no database.`);
      if (r.from < next)
        problems.push(`DATABASE_SHARDS: logical shards ${r.from}-${next - 1} are given twice.`);
      next = Math.max(next, r.to + 1);
    }
    if (next < LOGICAL_SHARDS)
      problems.push(`DATABASE_SHARDS: logical shards ${next}-${LOGICAL_SHARDS - 1} have no database.`);
  }
  return { ranges, problems };
}
