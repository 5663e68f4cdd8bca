import {
  assertOnePerActor,
  assertStorableName,
  keyRows,
  type SaveOutcome,
  StaleEpoch,
  StateRejected,
  type StateStore,
  type StateWrite,
  type StoredState,
  saveOne,
  stateJson,
  VersionConflict,
} from '@shutter/actors';
import type { Migration, Sql, SqlQueryable } from '../sql/index.js';

/**
 * Tables of `SqlStateStore`. The state is kept as JSON *text*, not jsonb:
 * nothing queries inside it, text skips a parse on every write, and jsonb
 * would refuse strings holding U+0000 that JSON allows. Cast to jsonb to
 * inspect it by hand.
 */
export const stateStoreMigrations: Migration[] = [
  {
    id: 'actors_001_state',
    sql: `
      CREATE TABLE actor_state (
        type text NOT NULL,
        id text NOT NULL,
        shard int NOT NULL,
        version bigint NOT NULL,
        epoch bigint NOT NULL,
        state text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (type, id)
      )`,
  },
  {
    // One statement per migration: PGlite runs each as a prepared statement.
    id: 'actors_002_shard_epochs',
    sql: `
      CREATE TABLE actor_shard_epochs (
        shard int PRIMARY KEY,
        epoch bigint NOT NULL
      )`,
  },
  {
    // The key table (idempotency): written with the state in one transaction, pruned by `at`
    // (the time read from the key). The reply is JSON text, as the state is.
    id: 'actors_003_keys',
    sql: `
      CREATE TABLE actor_keys (
        type text NOT NULL,
        id text NOT NULL,
        key text NOT NULL,
        at bigint NOT NULL,
        reply text NOT NULL,
        PRIMARY KEY (type, id, key)
      )`,
  },
  { id: 'actors_004_keys_at', sql: 'CREATE INDEX actor_keys_at ON actor_keys (at)' },
];

// Batches travel as one JSON parameter (json, not jsonb: it is only read once).
const ROWS = `json_to_recordset($1::json) AS u(type text, id text, shard int, epoch bigint, expected bigint, state text)`;

const FENCE_BATCH = `
  INSERT INTO actor_shard_epochs (shard, epoch)
  SELECT u.shard, max(u.epoch) FROM ${ROWS} GROUP BY u.shard ORDER BY u.shard
  ON CONFLICT (shard) DO UPDATE SET epoch = GREATEST(actor_shard_epochs.epoch, EXCLUDED.epoch)
  RETURNING shard, epoch::text AS epoch`;

const UPDATE_BATCH = `
  UPDATE actor_state a
  SET state = u.state, version = a.version + 1, epoch = u.epoch, shard = u.shard, updated_at = now()
  FROM ${ROWS}
  WHERE a.type = u.type AND a.id = u.id AND a.version = u.expected
  RETURNING a.type, a.id, a.version::text AS version`;

const INSERT_BATCH = `
  INSERT INTO actor_state (type, id, shard, version, epoch, state)
  SELECT u.type, u.id, u.shard, 1, u.epoch, u.state FROM ${ROWS}
  ON CONFLICT (type, id) DO NOTHING
  RETURNING type, id, version::text AS version`;

const VERSIONS = `
  SELECT a.type, a.id, a.version::text AS version
  FROM actor_state a JOIN ${ROWS} ON a.type = u.type AND a.id = u.id`;

const INSERT_KEYS = `
  INSERT INTO actor_keys (type, id, key, at, reply)
  SELECT k.type, k.id, k.key, k.at, k.reply
  FROM json_to_recordset($1::json) AS k(type text, id text, key text, at bigint, reply text)
  ON CONFLICT (type, id, key) DO NOTHING`;

const LOOKUP_KEYS = 'SELECT key, reply FROM actor_keys WHERE type = $1 AND id = $2 AND key = ANY($3::text[])';

// Bounded: at most $2 rows per statement, oldest first by the index on at.
const PRUNE_KEYS = `
  WITH gone AS (
    DELETE FROM actor_keys WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM actor_keys WHERE at < $1 ORDER BY at LIMIT $2
    ))
    RETURNING 1
  )
  SELECT count(*)::int AS n FROM gone`;

interface KeyRow {
  type: string;
  id: string;
  key: string;
  at: number;
  reply: string;
}

interface Row {
  type: string;
  id: string;
  shard: number;
  epoch: number;
  expected: number;
  state: string;
}

/**
 * A Postgres data exception (SQLSTATE class 22: a string the json or text
 * types refuse, a bad escape) or program limit (class 54: a value too large)
 * becomes `StateRejected`: the same write would fail the same way again.
 * Anything else (connection, serialization) is left as it is: retryable.
 */
function asDataError(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code)) {
    return new StateRejected(`the store refused the batch's data (SQLSTATE ${code})`, { cause: e });
  }
  return e;
}

/**
 * `StateStore` over the `Sql` port: one class for Postgres and PGlite. Apply
 * `stateStoreMigrations` with `migrate()` first.
 *
 * A batch is one transaction: raise each shard's fence to the highest epoch
 * in the batch (row-locking those shards, in shard order so two nodes never
 * deadlock), drop the writes below their fence as stale, then one UPDATE
 * for existing actors (guarded by version) and one INSERT … ON CONFLICT DO
 * NOTHING for new ones. A write neither statement touched lost a race:
 * version conflict. Fencing and writes share the shard row lock, so a
 * `fence` by a new owner orders strictly before or after a whole batch.
 */
export class SqlStateStore implements StateStore {
  constructor(private readonly sql: Sql) {}

  async load(type: string, id: string): Promise<StoredState | undefined> {
    // Checked here: pg would send a lone surrogate as U+FFFD and load another actor's row.
    assertStorableName(type, id);
    const r = await this.sql.query<{ state: string; version: string; epoch: string }>(
      'SELECT state, version::text AS version, epoch::text AS epoch FROM actor_state WHERE type = $1 AND id = $2',
      [type, id],
    );
    const row = r.rows[0];
    return row && { state: JSON.parse(row.state), version: Number(row.version), epoch: Number(row.epoch) };
  }

  save(write: StateWrite): Promise<number> {
    return saveOne(this, write);
  }

  async saveBatch(writes: readonly StateWrite[]): Promise<SaveOutcome[]> {
    assertOnePerActor(writes);
    if (writes.length === 0) return [];
    const keys: KeyRow[][] = writes.map((w) => keyRows(w).map((k) => ({ type: w.type, id: w.id, ...k })));
    const rows: Row[] = writes.map((w) => ({
      type: w.type,
      id: w.id,
      shard: w.shard,
      epoch: w.epoch,
      expected: w.expectedVersion,
      state: stateJson(w),
    }));
    try {
      return await this.sql.transaction(async (tx) => {
        const out = await this.applyBatch(tx, rows);
        // The keys of accepted writes only, in the same transaction as their state.
        const accepted = keys.filter((_k, i) => out[i]?.ok).flat();
        if (accepted.length > 0) await tx.query(INSERT_KEYS, [JSON.stringify(accepted)]);
        return out;
      });
    } catch (e) {
      throw asDataError(e);
    }
  }

  async fence(shard: number, epoch: number): Promise<void> {
    const r = await this.sql.query<{ epoch: string }>(
      `INSERT INTO actor_shard_epochs (shard, epoch) VALUES ($1, $2)
       ON CONFLICT (shard) DO UPDATE SET epoch = GREATEST(actor_shard_epochs.epoch, EXCLUDED.epoch)
       RETURNING epoch::text AS epoch`,
      [shard, epoch],
    );
    const current = Number(r.rows[0]?.epoch ?? epoch);
    if (current > epoch) throw new StaleEpoch(shard, epoch, current);
  }

  async lookupKeys(type: string, id: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    assertStorableName(type, id);
    const out = new Map<string, unknown>();
    if (keys.length === 0) return out;
    const r = await this.sql.query<{ key: string; reply: string }>(LOOKUP_KEYS, [type, id, keys]);
    for (const row of r.rows) out.set(row.key, JSON.parse(row.reply));
    return out;
  }

  async pruneKeys(before: number, limit: number): Promise<number> {
    const r = await this.sql.query<{ n: number }>(PRUNE_KEYS, [Math.floor(before), limit]);
    return Number(r.rows[0]?.n ?? 0);
  }

  private async applyBatch(tx: SqlQueryable, rows: Row[]): Promise<SaveOutcome[]> {
    const fences = new Map<number, number>();
    const fenced = await tx.query<{ shard: number; epoch: string }>(FENCE_BATCH, [JSON.stringify(rows)]);
    for (const f of fenced.rows) fences.set(Number(f.shard), Number(f.epoch));

    const out: Array<SaveOutcome | undefined> = rows.map((r) => {
      const current = fences.get(r.shard) ?? r.epoch;
      return r.epoch < current ? { ok: false, error: new StaleEpoch(r.shard, r.epoch, current) } : undefined;
    });
    const index = new Map(rows.map((r, i) => [`${r.type}\u0000${r.id}`, i]));
    const settle = (res: { rows: Array<{ type: string; id: string; version: string }> }) => {
      for (const x of res.rows) {
        const i = index.get(`${x.type}\u0000${x.id}`);
        if (i !== undefined) out[i] = { ok: true, version: Number(x.version) };
      }
    };
    const updates = rows.filter((r, i) => out[i] === undefined && r.expected > 0);
    const inserts = rows.filter((r, i) => out[i] === undefined && r.expected === 0);
    if (updates.length > 0) settle(await tx.query(UPDATE_BATCH, [JSON.stringify(updates)]));
    if (inserts.length > 0) settle(await tx.query(INSERT_BATCH, [JSON.stringify(inserts)]));

    const lost = rows.filter((_r, i) => out[i] === undefined);
    if (lost.length > 0) {
      // Rare (a second writer): look up what the store holds, for the error.
      const have = await tx.query<{ type: string; id: string; version: string }>(VERSIONS, [
        JSON.stringify(lost),
      ]);
      const versions = new Map(have.rows.map((x) => [`${x.type}\u0000${x.id}`, Number(x.version)]));
      for (const r of lost) {
        const i = index.get(`${r.type}\u0000${r.id}`) ?? -1;
        const actual = versions.get(`${r.type}\u0000${r.id}`) ?? 0;
        out[i] = { ok: false, error: new VersionConflict(r.type, r.id, r.expected, actual) };
      }
    }
    return out.map((o) => {
      if (!o) throw new Error('unreachable: every write has an outcome');
      return o;
    });
  }
}
