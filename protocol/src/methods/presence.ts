import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';
import type { PresenceEntry } from '../streams.js';

/**
 * The `presence` capability's methods (served by
 * `server/src/capabilities/presence/`): who of the people I follow is online
 * now, with last seen for the rest, and my own visibility setting. Changes
 * arrive live on `presence:<my id>` (`PresenceEvent`, a direct leased
 * stream: protocol.md §6.1, §6.9).
 *
 * A user is online while any of their sockets is open, and for a grace
 * period (`PRESENCE_GRACE_MS`) after the last one closed, so a quick
 * reconnect changes nothing. Only active followers see it, never across a
 * block, and nobody while the user has turned presence off.
 */

const Id = Type.String({ pattern: ID_PATTERN });
const params = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

/** Most entries `presence.following` answers. */
export const MAX_PRESENCE_LIST = 1000;

/**
 * One user's presence as a follower sees it. `lastSeen` (ms since the Unix
 * epoch) is when their last socket closed; null while online, for a user
 * never seen, and for one who turned presence off (who shows offline).
 * `v` orders the states of one user: of two, the higher is the newer (0:
 * unknown, older than any event).
 */
export const PresenceUser = Type.Object({
  id: Id,
  online: Type.Boolean(),
  lastSeen: Type.Union([Type.Number(), Type.Null()]),
  v: Type.Number({ minimum: 0 }),
});
// The same shape as the events' entries (`streams.ts`, types only for the SDK): a type error if they part.
const sameShape: [Static<typeof PresenceUser>, PresenceEntry] extends [
  PresenceEntry,
  Static<typeof PresenceUser>,
]
  ? true
  : never = true;
void sameShape;

/** The caller's visibility: `visible: false` hides them from everyone (they show offline, no last seen). */
const Settings = Type.Object({ visible: Type.Boolean() });

export const PresenceMethods = {
  /**
   * Who of the people the caller follows (active follows; nobody across a
   * block) is online now, and last seen for the rest: online first, then
   * the most recently seen, then those never seen (by id). Capped, not
   * paginated: at most `limit` (1–1000, default 200) entries; `total` is how
   * many the caller follows, `truncated` says entries were left out (the
   * online ones come first, so only the longest-gone are). The work grows
   * with the number the caller follows. `GET /v1/presence/following`.
   */
  'presence.following': {
    params: params({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PRESENCE_LIST })) }),
    result: Type.Object({
      items: Type.Array(PresenceUser),
      total: Type.Integer({ minimum: 0 }),
      truncated: Type.Boolean(),
    }),
    idempotent: true,
  },
  /** The caller's presence setting (visible by default). `GET /v1/presence/settings`. */
  'presence.settings': { params: params({}), result: Settings, idempotent: true },
  /**
   * Shows or hides the caller's presence, durably. Hidden, they look
   * offline to every follower, without a last seen, at once (followers
   * watching get an update); shown again, followers get their state.
   * Answers the setting now. `PUT /v1/presence/settings`.
   */
  'presence.updateSettings': {
    params: params({ visible: Type.Boolean() }),
    result: Settings,
    idempotent: true,
  },
} as const satisfies Record<`presence.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
