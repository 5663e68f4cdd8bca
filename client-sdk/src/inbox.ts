import type { MethodResult } from '@shutter/protocol/wire';
import type { ShutterClient } from './client.js';
import type { Subscription } from './subscription.js';

/** A notification as the server sends it (`notifications.list` items, `notification` inbox events). */
export type Notification = MethodResult<'notifications.list'>['items'][number];

/** The data of an event on `user:<id>:inbox` (protocol.md §5.2, notifications). */
export type InboxEvent =
  | { type: 'notification'; notification: Notification; unreadCount: number }
  | { type: 'notification.removed'; id: string; unreadCount: number }
  | { type: 'notifications.read'; ids: string[] | null; unreadCount: number };

export interface Inbox {
  readonly subscription: Subscription;
  /** The app showed these from a push: they are reported shown and the inbox never shows them. */
  markShown(ids: readonly string[]): void;
}

/**
 * The app's notifications, each shown once. Subscribes to the user's inbox
 * stream; when it starts fresh or must refetch (what arrived while
 * offline), fetches the newest page too. Hands each notification to `show`
 * once, whichever way it came (live, resume, refetch) — again only with a
 * higher `version` of one already shown (actors folded in: replace it) —
 * and never one the server says is seen (shown elsewhere, pushed, read) or
 * `markShown` named. What it showed is reported with `notifications.shown`
 * (batched, 250 ms), so the server does not push it. `onEvent` gets every
 * inbox event (removals, reads elsewhere, the unread count).
 */
export function createInbox(
  client: ShutterClient,
  userId: string,
  show: (n: Notification) => void,
  onEvent?: (e: InboxEvent) => void,
): Inbox {
  /** Id → the version shown (Infinity: from a push). */
  const shown = new Map<string, number>();
  const report: string[] = [];
  let timer: unknown;
  const later = () => {
    if (!timer) timer = setTimeout(flush, 250);
  };
  const flush = () => {
    timer = 0;
    while (report.length) {
      const ids = report.splice(0, 100);
      // A report that fails (offline too long) goes again.
      client.api.notifications.shown({ ids }).catch(() => {
        report.push(...ids);
        later();
      });
    }
  };
  const mark = (id: string, version: number) => {
    if (!shown.has(id)) {
      report.push(id);
      later();
    }
    shown.set(id, version);
  };
  const offer = (n: Notification) => {
    const v = shown.get(n.id);
    if (v === undefined ? n.seen : v >= n.version) return;
    mark(n.id, n.version);
    show(n);
  };
  const subscription = client.subscribe<InboxEvent>(`user:${userId}:inbox`, ({ data }) => {
    if (data.type === 'notification') offer(data.notification);
    onEvent?.(data);
  });
  subscription.on('subscribed', (s) => {
    if (s.status !== 'recovered')
      client.api.notifications.list({ limit: 50 }).then((page) => {
        for (const n of page.items.reverse()) offer(n);
      }, noop);
  });
  return {
    subscription,
    markShown: (ids) => {
      for (const id of ids) mark(id, Infinity);
    },
  };
}

/** A failed fetch is dropped: the next fresh start or refetch fetches again. */
function noop(): void {}
