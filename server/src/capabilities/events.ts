/**
 * Domain events between capabilities on one node: a capability that changes
 * something others keep derived data of (a follow, a post) emits an event,
 * and the capabilities that keep that data (feeds) react. `emit` awaits every
 * handler, so the change is acknowledged only after they ran — a handler
 * that must survive a crash does durable work there (enqueue a job), never
 * slow work.
 */
export type DomainEvent =
  /** `follower` now follows `followee` (`active`), asked to (`pending`), or no longer does (`none`). */
  | {
      type: 'follow.changed';
      follower: string;
      followee: string;
      state: 'active' | 'pending' | 'none';
      /** Set when `followee` approved `follower`'s request (pending → active). */
      approved?: true;
    }
  /** `blocker` blocks `blocked` (`on`) or no longer does (`off`); any follow edges between them are gone. */
  | { type: 'block.changed'; blocker: string; blocked: string; on: boolean }
  /** A post is durable: its id carries the author's shard. */
  | { type: 'post.created'; postId: string; authorId: string; createdAt: number }
  /** A post is gone (deleted by its author, or with its author's account). */
  | { type: 'post.deleted'; postId: string; authorId: string }
  /**
   * One committed batch of likes of a post (a group commit): who newly likes
   * it and who no longer does. A retried like that changed nothing is in
   * neither list. `likeCount` is the post's count after the commit.
   */
  | {
      type: 'likes.changed';
      postId: string;
      authorId: string;
      liked: readonly { userId: string; at: number }[];
      unliked: readonly string[];
      likeCount: number;
    }
  /** A comment is durable, in its post's database (its id carries the post's shard). */
  | {
      type: 'comment.created';
      commentId: string;
      postId: string;
      /** The post's author. */
      postAuthorId: string;
      /** Who wrote the comment. */
      authorId: string;
      /** The comment it replies to, and that comment's author, for a reply. */
      parentId?: string;
      parentAuthorId?: string;
      /** User ids of the accounts the text @mentions (resolved from usernames). */
      mentionIds: readonly string[];
      text: string;
      createdAt: number;
    }
  /** A comment is gone (deleted by its author or the post's owner). */
  | { type: 'comment.deleted'; commentId: string; postId: string; postAuthorId: string; authorId: string }
  /**
   * A socket of `userId` authenticated on this node (`opened`, right after
   * its welcome) or closed (`closed`, once, only after an `opened`).
   * `session` is unique in the cluster: `<node id>/<gateway session>`.
   * Emitted by the gateway without waiting: handlers hand the news on.
   */
  | { type: 'session.opened'; userId: string; session: string }
  | { type: 'session.closed'; userId: string; session: string };

export type DomainEventType = DomainEvent['type'];
export type EventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;
type Handler<T extends DomainEventType> = (event: EventOf<T>) => Promise<void> | void;
type AnyHandler = (event: DomainEvent) => Promise<void> | void;

export class DomainEvents {
  private readonly handlers = new Map<DomainEventType, AnyHandler[]>();

  /** Runs `handler` for every event of `type` emitted on this node, in the order handlers were added. */
  on<T extends DomainEventType>(type: T, handler: Handler<T>): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as unknown as AnyHandler);
    this.handlers.set(type, list);
  }

  /** Runs every handler of the event's type, one after the other; the first failure rejects. */
  async emit(event: DomainEvent): Promise<void> {
    for (const h of this.handlers.get(event.type) ?? [])
      await (h as Handler<typeof event.type>)(event as never);
  }
}
