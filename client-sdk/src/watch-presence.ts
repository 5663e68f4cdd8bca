import { type PresenceEntry, type PresenceEvent, presenceStream } from '@shutter/protocol/wire';
import type { ShutterClient } from './client.js';
import type { Subscription } from './subscription.js';

export interface PresenceWatch {
  /** Who of the people I follow is online, and last seen for the rest, by user id (kept up to date). */
  readonly users: ReadonlyMap<string, PresenceEntry>;
  readonly subscription: Subscription;
  unsubscribe(): Promise<void>;
}

/**
 * Keeps the presence of the people `userId` (the signed-in user) follows:
 * subscribes to `presence:<userId>` (a view under a lease, renewed at half
 * of it, taken up again after a reconnect or a lapse), reads
 * `presence.following` whenever the stream starts afresh (it keeps no
 * history) or the server asks to resync, applies each change whose `v` is
 * newer than the one held, and calls `onChange` with the whole map after
 * each update.
 */
export function watchPresence(
  client: ShutterClient,
  userId: string,
  onChange: (users: ReadonlyMap<string, PresenceEntry>) => void,
): PresenceWatch {
  const users = new Map<string, PresenceEntry>();
  /** Events that came while the list loaded: applied on top of it. */
  let held: PresenceEvent[] | undefined;
  let loads = 0;
  const apply = (e: PresenceEvent) => {
    if (e.type !== 'presence') return load();
    for (const u of e.users) if ((users.get(u.id)?.v ?? -1) < u.v) users.set(u.id, u);
    for (const id of e.removed) users.delete(id);
  };
  const load = () => {
    const mine = ++loads;
    held ??= [];
    client.api.presence.following({ limit: 1000 }).then(
      (r) => {
        if (mine !== loads) return;
        users.clear();
        for (const u of r.items) users.set(u.id, u);
        release();
      },
      // Offline or refused: the events held still apply; the next fresh start reads again.
      () => mine === loads && release(),
    );
  };
  const release = () => {
    const events = held ?? [];
    held = undefined;
    for (const e of events) apply(e);
    onChange(users);
  };
  const subscription = client.subscribe<PresenceEvent>(presenceStream(userId), ({ data }) => {
    if (held) held.push(data);
    else {
      apply(data);
      if (!held) onChange(users);
    }
  });
  subscription.on('subscribed', (s) => {
    if (s.status !== 'recovered') load();
  });
  return { users, subscription, unsubscribe: () => subscription.unsubscribe() };
}
