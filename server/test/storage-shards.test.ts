import { newId } from '@shutter/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { startTestNode } from './helpers/test-node.js';
import { postgresUrl, postgresUrlB } from './services.js';

// Test nodes keep logical shards 0–511 in `test` and 512–1023 in
// `test_shard_b` (helpers/test-node.ts): two physical shards.
let node: ShutterNode;
const direct = {
  a: new pg.Pool({ connectionString: postgresUrl, max: 1 }),
  b: new pg.Pool({ connectionString: postgresUrlB, max: 1 }),
};

beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(async () => {
  await node?.shutdown();
  await direct.a.end();
  await direct.b.end();
});

describe('two Postgres databases as two physical shards', () => {
  it('maps shard ranges to the two databases, home being shard 0', () => {
    expect(node.db.all).toHaveLength(2);
    expect(node.db.forShard(0)).toBe(node.db.home);
    expect(node.db.forShard(511)).toBe(node.db.home);
    expect(node.db.forShard(512)).not.toBe(node.db.home);
    expect(node.db.forShard(1023)).toBe(node.db.forShard(512));
  });

  it('runs every capability migration on both databases', async () => {
    const ns = node.config.services.namespace;
    const ids = async (p: pg.Pool) =>
      (await p.query<{ id: string }>(`SELECT id FROM ${ns}.schema_migrations ORDER BY id`)).rows.map(
        (r) => r.id,
      );
    const [a, b] = await Promise.all([ids(direct.a), ids(direct.b)]);
    // The home database holds more (actor state, queues, media); every domain table is on both.
    const domain = (l: string[]) => l.filter((id) => !/^(actors|jobs|media|uploads)_/.test(id));
    expect(domain(b)).toEqual(domain(a));
    expect(domain(a).some((id) => id.startsWith('accounts_'))).toBe(true);
  });

  it('sends a row to the database of the shard its id carries', async () => {
    const ns = node.config.services.namespace;
    const low = newId(3);
    const high = newId(900);
    for (const id of [low, high]) {
      await node.db
        .forId(id)
        .query(`INSERT INTO usernames (name, user_id) VALUES ($1, $2)`, [`n${id.slice(-8)}`, id]);
    }
    const where = async (p: pg.Pool) =>
      (await p.query<{ user_id: string }>(`SELECT user_id::text AS user_id FROM ${ns}.usernames`)).rows.map(
        (r) => r.user_id,
      );
    expect(await where(direct.a)).toEqual([low]);
    expect(await where(direct.b)).toEqual([high]);
  });
});
