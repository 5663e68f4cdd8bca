import type { Bus, BusSubscription } from '@shutter/actors';
import type { PresenceEntry } from '@shutter/protocol';
import { Packr, Unpackr } from 'msgpackr';

/** A follow that now lets `watcher` see `user` (`on`), or no longer does (unfollow, block). */
export interface FollowEdge {
  watcher: string;
  user: string;
  on: boolean;
}

/** What a node hears from the cluster's presence subjects. */
export interface PresenceBusHandlers {
  /** A batch of presence changes, each published once for the whole cluster. */
  changes(users: PresenceEntry[]): void;
  /** Follows that changed anywhere: watchers on this node may see more or fewer people. */
  edges(edges: FollowEdge[]): void;
  /** The bus came back: what was published meanwhile is lost to this node. */
  resync(): void;
}

const CHANGES = 'presence.changes';
const EDGES = 'presence.edges';

// Bus payloads are our own (node to node), never a client's bytes.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true });

/**
 * The cluster's presence subjects: every change is published once, in a
 * batch, and every node subscribes once (not per watcher, not per
 * followed user), so a node's cost is one message per batch plus a map
 * lookup per change, whatever the audience. Follow changes travel the same
 * way, to whichever node holds the follower's watchers. At most once, like
 * the bus: after a reconnect each node tells its watchers to read again.
 */
export class PresenceBus {
  constructor(
    private readonly bus: Bus,
    private readonly onError: (err: unknown) => void,
  ) {}

  publishChanges(users: readonly PresenceEntry[]): void {
    if (users.length > 0) this.publish(CHANGES, users);
  }

  publishEdges(edges: readonly FollowEdge[]): void {
    if (edges.length > 0) this.publish(EDGES, edges);
  }

  subscribe(h: PresenceBusHandlers): () => void {
    const guard =
      <T>(f: (x: T) => void) =>
      (payload: Uint8Array) => {
        try {
          f(unpackr.unpack(payload) as T);
        } catch (err) {
          this.onError(err);
        }
      };
    const subs: BusSubscription[] = [
      this.bus.subscribe(CHANGES, guard(h.changes)),
      this.bus.subscribe(EDGES, guard(h.edges)),
    ];
    const off = this.bus.onStatus((s) => {
      if (s === 'reconnected') h.resync();
    });
    return () => {
      off();
      for (const s of subs) s.unsubscribe();
    };
  }

  private publish(subject: string, body: unknown): void {
    try {
      this.bus.publish(subject, packr.pack(body));
    } catch (err) {
      // Closed or disconnected: watchers resync when it comes back.
      this.onError(err);
    }
  }
}
