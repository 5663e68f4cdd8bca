import type { LeasedStreamRule } from '../operation.js';
import { parseNearbyStream } from './stream-name.js';
import { nearbyRef } from './watch-actor.js';

/**
 * `nearby:<id>[:<radius>]`: user `<id>`'s list, for that user alone, under
 * a lease (NEARBY_VIEW_LEASE_MS). Each grant and renewal tells the user's
 * `nearby` actor that the viewer holds it for another lease, the end of
 * the subscription that it left (`watch-actor.ts`). Its history keeps
 * the last list only (was STREAM_HISTORY_SIZE lists: ~0.8 MB of Redis per
 * watched list).
 */
export const nearbyStreamRule: LeasedStreamRule = {
  authorize: (_ports, userId, stream) => parseNearbyStream(stream)?.userId === userId,
  leaseMs: (config) => config.nearby.viewLeaseMs,
  // Each event is the whole list: the last one is all a resume needs (a new view is sent the list at once anyway).
  history: 1,
  onView: (ports, v) =>
    nearbyRef(ports.actors, v.userId).tell({
      type: 'view',
      stream: v.stream,
      viewer: v.viewer,
      leaseMs: v.leaseMs,
    }),
  onLeave: (ports, v) =>
    nearbyRef(ports.actors, v.userId).tell({ type: 'leave', stream: v.stream, viewer: v.viewer }),
};
