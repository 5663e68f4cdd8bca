import { type NearbyStreamEvent, nearbyStream, newId } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { until } from './testing/wait.js';
import { watchNearby } from './watch-nearby.js';

const ME = newId(5);
const list = (n: number, radiusMeters = 8047): NearbyStreamEvent => ({
  type: 'nearby',
  sharing: true,
  located: true,
  radiusMeters,
  asOf: 1000 + n,
  items: [],
});

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.start();
  // Leased like the real server's `nearby:` streams (protocol.md §6.9).
  server.onSubscribe = (msg, conn) => {
    if (!msg.stream.startsWith('nearby:')) return undefined;
    conn.subscriptions.add(msg.stream);
    const { result } = server.streams.subscribe(msg.stream, msg.from);
    return { result: { ...result, leaseMs: 10_000 } };
  };
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

describe('watchNearby', () => {
  it('watches nearby:<me> (or at a radius) and hands on the lists only', async () => {
    const { client } = testClient(server);
    const got: NearbyStreamEvent[] = [];
    const sub = watchNearby(client, ME, (l) => got.push(l));
    const wide = watchNearby(client, ME, (l) => got.push(l), 20_000);
    client.connect();
    await until(() => sub.state === 'subscribed' && wide.state === 'subscribed');
    expect(
      server
        .current!.frames('sub')
        .map((s) => s.stream)
        .sort(),
    ).toEqual([`nearby:${ME}`, `nearby:${ME}:20000`]);
    server.publish(nearbyStream(ME), { type: 'something-new' });
    server.publish(nearbyStream(ME), list(1));
    server.publish(nearbyStream(ME, 20_000), list(2, 20_000));
    await until(() => got.length === 2);
    expect(got).toEqual([list(1), list(2, 20_000)]);
    await sub.unsubscribe();
    await wide.unsubscribe();
  });
});
