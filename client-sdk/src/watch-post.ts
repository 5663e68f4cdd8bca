import { type PostCountsEvent, postStream } from '@shutter/protocol/wire';
import type { ShutterClient } from './client.js';
import type { Subscription } from './subscription.js';

/**
 * Watches a post while it is on screen: subscribes to `post:<id>` and hands
 * each counts update (likes, comments, viewers; coalesced by the server,
 * the last one always true) to `onCounts`. The subscription is a view under
 * a lease, which the client renews at half its length, and takes up again
 * after a reconnect or a lapse, until `unsubscribe()` on the answer.
 */
export function watchPost(
  client: ShutterClient,
  postId: string,
  onCounts: (counts: PostCountsEvent) => void,
): Subscription {
  return client.subscribe<PostCountsEvent>(postStream(postId), (e) => {
    if (e.data?.type === 'counts') onCounts(e.data);
  });
}
