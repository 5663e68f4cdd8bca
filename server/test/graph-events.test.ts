import { ActorSystem, MemoryStateStore, SingleNodePlacement } from '@shutter/actors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DomainEvent, DomainEvents } from '../src/capabilities/events.js';
import { graph } from '../src/capabilities/graph/index.js';
import { MemoryIdempotencyStore } from '../src/capabilities/idempotency.js';
import { capabilities } from '../src/capabilities/index.js';
import type { CapabilityPorts } from '../src/capabilities/operation.js';
import { OperationRegistry } from '../src/capabilities/registry.js';
import { silentLogger } from '../src/log.js';
import type { ShutterNode } from '../src/node.js';
import { makeUser, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * `follow.changed` and `block.changed` are emitted once both sides are
 * durable, and awaited before the answer: a handler reading the rows when
 * the event arrives finds both sides written. The graph's operations run
 * here from a registry of their own, on the databases of a test node, with
 * an event bus the test listens to.
 */
let node: ShutterNode;
let actors: ActorSystem;
let registry: OperationRegistry;
const events = new DomainEvents();
const seen: { event: DomainEvent; rows: string[] }[] = [];

/** Both sides of the pair as rows, read while the event is handled. */
async function sides(a: string, b: string): Promise<string[]> {
  const read = async (owner: string, other: string) => {
    const r = await node.db
      .forId(owner)
      .query<{ dir: string; state: string }>(
        'SELECT dir, state FROM follows WHERE user_id = $1 AND other_id = $2',
        [owner, other],
      );
    return r.rows.map((x) => `${owner === a ? 'a' : 'b'}:${x.dir}:${x.state}`);
  };
  return [...(await read(a, b)), ...(await read(b, a))].sort();
}

beforeAll(async () => {
  node = await startTestNode('ws');
  actors = new ActorSystem({ store: new MemoryStateStore(), placement: new SingleNodePlacement(16) });
  const ports = {
    nodeId: 'events-test',
    actors,
    log: silentLogger(),
    askTimeoutMs: 5000,
    now: Date.now,
    db: node.db,
    events,
  } as unknown as CapabilityPorts;
  for (const type of graph.actors?.(ports) ?? []) actors.register(type);
  registry = new OperationRegistry(capabilities, {
    ports,
    idempotency: new MemoryIdempotencyStore(60_000),
    checkResults: true,
  });
});
afterAll(async () => {
  await actors?.stop();
  await node?.shutdown();
});

const call = (user: TestUser, method: string, id: string) =>
  registry.call(method, {
    caller: { userId: user.id, session: undefined },
    params: { id },
    idempotencyKey: undefined,
    via: 'http',
  });

describe('graph domain events', () => {
  it('arrive after both sides are durable, before the answer', async () => {
    const a = await makeUser(node);
    const b = await makeUser(node);
    let pair: [string, string] = [a.id, b.id];
    const record = async (event: DomainEvent) => {
      seen.push({ event, rows: await sides(...pair) });
    };
    events.on('follow.changed', record);
    events.on('block.changed', record);

    await call(a, 'graph.follow', b.id);
    expect(seen).toEqual([
      {
        event: { type: 'follow.changed', follower: a.id, followee: b.id, state: 'active' },
        rows: ['a:out:active', 'b:in:active'],
      },
    ]);
    await call(b, 'graph.follow', a.id);
    seen.length = 0;

    pair = [a.id, b.id];
    await call(a, 'graph.block', b.id);
    // Both edges went, each told once, then the block; every handler saw both sides empty.
    expect(seen.map((s) => s.event)).toEqual([
      { type: 'follow.changed', follower: a.id, followee: b.id, state: 'none' },
      { type: 'follow.changed', follower: b.id, followee: a.id, state: 'none' },
      { type: 'block.changed', blocker: a.id, blocked: b.id, on: true },
    ]);
    expect(seen.every((s) => s.rows.length === 0)).toBe(true);
    seen.length = 0;

    await call(a, 'graph.unblock', b.id);
    expect(seen.map((s) => s.event)).toEqual([
      { type: 'block.changed', blocker: a.id, blocked: b.id, on: false },
    ]);
  });

  it('tell pending for a request and active when it is approved', async () => {
    const a = await makeUser(node);
    const p = await makeUser(node, { private: true });
    seen.length = 0;
    await call(a, 'graph.follow', p.id);
    await call(p, 'graph.approve', a.id);
    expect(seen.map((s) => s.event)).toEqual([
      { type: 'follow.changed', follower: a.id, followee: p.id, state: 'pending' },
      // The approval says so: notifications tell the follower their request was approved.
      { type: 'follow.changed', follower: a.id, followee: p.id, state: 'active', approved: true },
    ]);
  });
});
