/**
 * The port notifications hand pushes to (issue 10 §5): a durable outbox in
 * front of the push provider (APNs, FCM, or a generic HTTP receiver), with
 * retries, a dead-letter state and token invalidation behind it.
 */

/** One push to every registered device of a user. */
export interface PushNotification {
  /** The notification this push shows: the delivery ledger's key, and what the SDK reports as shown. */
  notificationId: string;
  userId: string;
  title?: string;
  body: string;
  /** Replaces an earlier push with the same key on the device (APNs `apns-collapse-id`, FCM `collapse_key`). */
  collapseKey?: string;
  /** The app icon's badge: the user's unread count. */
  badge?: number;
  /** Small string pairs the app reads when the push is opened (the post id…). */
  data?: Record<string, string>;
  /**
   * Sent no sooner than this many ms after the enqueue (default 0): the time
   * a socket has to show the notification first. The push is durable from
   * the enqueue on, so a node that dies meanwhile loses nothing; `cancel`
   * drops it when a socket showed it in time.
   */
  delayMs?: number;
}

export interface PushOutbox {
  /** Stores the pushes durably (resolves once stored); a worker sends them to each device of the user. */
  enqueue(items: readonly PushNotification[]): Promise<void>;
  /** Drops the not-yet-sent pushes of these notifications (a socket showed them meanwhile). */
  cancel(notificationIds: readonly string[]): Promise<void>;
}
