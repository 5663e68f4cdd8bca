import { type NearbyStreamEvent, nearbyStream } from '@shutter/protocol/wire';
import type { ShutterClient } from './client.js';
import type { Subscription } from './subscription.js';

/**
 * Watches the user's nearby friends while the screen shows them:
 * subscribes to `nearby:<userId>` (or `nearby:<userId>:<radiusMeters>`)
 * and hands each list (nearest first; sent when it changed, and at once on
 * subscribing) to `onList`. A view under a lease, renewed by the client,
 * until `unsubscribe()`. Keep sending the location (`api.nearby.updateLocation`)
 * meanwhile: the list is around the user's latest fix.
 */
export function watchNearby(
  client: ShutterClient,
  userId: string,
  onList: (list: NearbyStreamEvent) => void,
  radiusMeters?: number,
): Subscription {
  return client.subscribe<NearbyStreamEvent>(nearbyStream(userId, radiusMeters), (e) => {
    if (e.data?.type === 'nearby') onList(e.data);
  });
}
