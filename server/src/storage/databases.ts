import { hash32 } from '@shutter/actors';
import { LOGICAL_SHARDS, ShutterError, shardOfId } from '@shutter/protocol';
import { migrate } from '../sql/migrate.js';
import type { Migration, Sql } from '../sql/sql.js';

/**
 * The relational store as the domain sees it: 1 024 logical shards mapped
 * onto one or more physical databases (DESIGN "Storage"). A row lives in the
 * database of its owner's logical shard, which its id carries
 * (`protocol/src/ids.ts`): `forId(post.id)` is the author's database. Rows
 * keyed by something else (a username) go by a stable hash of the key
 * (`forKey`).
 *
 * `home` is the database of logical shard 0: it also holds what is not
 * partitioned (actor state documents, job queues, media records).
 */
export class Databases {
  /** Distinct databases, in the order of their first logical shard. */
  readonly all: readonly Sql[];
  private readonly byShard: Sql[];

  /** `map[s]` is the database of logical shard `s`; every element is one of a few `Sql`s. */
  constructor(map: readonly Sql[]) {
    if (map.length !== LOGICAL_SHARDS) throw new Error(`a shard map has ${LOGICAL_SHARDS} entries`);
    this.byShard = [...map];
    this.all = [...new Set(map)];
  }

  /** Every logical shard in one database: the default. */
  static single(sql: Sql): Databases {
    return new Databases(new Array<Sql>(LOGICAL_SHARDS).fill(sql));
  }

  get home(): Sql {
    return this.byShard[0] as Sql;
  }

  forShard(shard: number): Sql {
    const sql = this.byShard[shard];
    if (!sql) throw new RangeError(`no logical shard ${shard}`);
    return sql;
  }

  /** The database of the row an id names. Throws `bad_request` for a string that is not an id. */
  forId(id: string): Sql {
    return this.forShard(idShard(id));
  }

  /** The database of a row keyed by `key` (a username, a tag): a stable hash of it. */
  forKey(key: string): Sql {
    return this.forShard(keyShard(key));
  }

  /** Ids grouped by database, so a page touches each database once (`ids` keep their order in each group). */
  group(ids: readonly string[]): Map<Sql, string[]> {
    const out = new Map<Sql, string[]>();
    for (const id of ids) {
      const sql = this.forId(id);
      const list = out.get(sql);
      if (list) list.push(id);
      else out.set(sql, [id]);
    }
    return out;
  }

  /** Runs `fn` on each database's share of `ids` at once and concatenates the results. */
  async each<T>(ids: readonly string[], fn: (sql: Sql, ids: string[]) => Promise<T[]>): Promise<T[]> {
    const parts = await Promise.all([...this.group(ids)].map(([sql, part]) => fn(sql, part)));
    return parts.flat();
  }

  /** Applies `migrations` to every database (each under its own migration lock). */
  async migrate(migrations: readonly Migration[]): Promise<void> {
    for (const sql of this.all) await migrate(sql, migrations);
  }
}

/** The logical shard an id carries; `bad_request` if it is not an id. */
export function idShard(id: string): number {
  const shard = shardOfId(id);
  if (shard === undefined)
    throw new ShutterError('bad_request', `${JSON.stringify(id.slice(0, 40))} is not an id`);
  return shard;
}

/** The logical shard of a non-id key (a lower-cased username, a hashtag). */
export function keyShard(key: string): number {
  return hash32(key) % LOGICAL_SHARDS;
}
