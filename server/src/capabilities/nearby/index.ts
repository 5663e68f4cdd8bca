import { ShutterError } from '@shutter/protocol';
import { defineCapability, defineOperation, type OperationContext } from '../operation.js';
import { cellOf } from './geo.js';
import { nearbyList, sharingOf } from './list.js';
import { deleteSharing, nearbyMigrations, readSharing, writeSharing } from './sharing-setting.js';
import { registerNearbyActor } from './watch-actor.js';
import { nearbyStreamRule } from './watch-stream.js';

export type { LocationStore } from './location-store.js';

/**
 * The `nearby` capability: nearby friends, opt-in (docs/architecture.md
 * "Nearby friends"). Schemas: `protocol/src/methods/nearby.ts`.
 *
 * - The setting is durable in Postgres (`sharing-setting.ts`); the
 *   location store holds a copy fenced by version, and turning sharing off
 *   removes the fix there in the same step.
 * - Fixes live in the location store (`location-store.ts`: Redis, or this
 *   process), indexed by geohash cell, expiring after
 *   NEARBY_LOCATION_TTL_MS.
 * - A list (`list.ts`) reads the friends near the caller's fix from the
 *   store — the people in the covering cells or the friends, whichever
 *   are fewer — then checks the few within the radius against the graph.
 * - Live: `nearby:<id>[:<radius>]` is a view under a lease; the user's
 *   `nearby` actor recomputes the list every NEARBY_PUSH_INTERVAL_MS while
 *   it is viewed and sends it when it changed (`watch-actor.ts`).
 */
export const nearby = defineCapability({
  name: 'nearby',
  description: 'Nearby friends: opt-in location sharing with mutual followers, live list within a radius.',
  migrations: nearbyMigrations,
  actors: (ports) => [registerNearbyActor(ports)],
  streams: { nearby: nearbyStreamRule },
  onUserDeleted: async (ports, userId) => {
    await ports.locations.forget(userId);
    await deleteSharing(ports.db, userId);
  },
  async start(ports) {
    // A follow or a block between two users changes who their friends are: drop both cached sets
    // (the store is shared, so this holds whichever node serves the list).
    ports.events.on('follow.changed', (e) => ports.locations.dropFriends([e.follower, e.followee]));
    ports.events.on('block.changed', (e) => ports.locations.dropFriends([e.blocker, e.blocked]));
    return { stop: async () => {} };
  },
  operations: [
    defineOperation({
      method: 'nearby.settings',
      summary: "The caller's nearby-friends setting: whether they share their location with friends.",
      http: { method: 'GET', path: '/v1/me/nearby' },
      auth: 'user',
      handler: async (ctx) => settingsView(await readSharing(ctx.db, ctx.caller.userId)),
    }),
    defineOperation({
      method: 'nearby.updateSettings',
      summary: "Turns location sharing on or off; off removes the caller's location at once.",
      http: { method: 'PUT', path: '/v1/me/nearby' },
      auth: 'user',
      handler: async (ctx, p) => {
        const s = await writeSharing(ctx.db, ctx.caller.userId, p.sharing);
        // Answered only once the store holds it: after `off` no friend is shown the location.
        await ctx.locations.setSharing(ctx.caller.userId, s);
        return settingsView(s);
      },
    }),
    defineOperation({
      method: 'nearby.updateLocation',
      summary: "Stores the caller's location (sharing must be on); it expires after NEARBY_LOCATION_TTL_MS.",
      http: { method: 'PUT', path: '/v1/me/location' },
      auth: 'user',
      rate: 'location',
      handler: updateLocation,
    }),
    defineOperation({
      method: 'nearby.list',
      summary:
        "The caller's friends within a radius of their location, nearest first, with distance and age.",
      http: { method: 'GET', path: '/v1/me/nearby/friends' },
      auth: 'user',
      handler: async (ctx, p) =>
        (await nearbyList(ctx, ctx.caller.userId, p.radiusMeters ?? ctx.config.nearby.radiusMeters)).list,
    }),
  ],
});

function settingsView(s: { on: boolean; updatedAt: number | null }) {
  return { sharing: s.on, updatedAt: s.updatedAt };
}

async function updateLocation(ctx: OperationContext, p: { lat: number; lon: number; accuracy?: number }) {
  const me = ctx.caller.userId;
  const at = ctx.now();
  const ttl = ctx.config.nearby.locationTtlMs;
  const fix = { userId: me, lat: p.lat, lon: p.lon, accuracy: p.accuracy ?? null, at, cell: cellOf(p) };
  let stored = await ctx.locations.put(fix, ttl);
  if (stored === 'unknown') {
    // The store does not hold the setting (a flushed cache, a day unused): restore it, then try once more.
    await sharingOf(ctx, me, undefined);
    stored = await ctx.locations.put(fix, ttl);
  }
  if (stored !== 'ok')
    throw new ShutterError(
      'nearby_off',
      'location sharing is off: turn it on with nearby.updateSettings before sending a location',
    );
  return { at, expiresAt: at + ttl };
}
