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
  | { type: 'follow.changed'; follower: string; followee: string; state: 'active' | 'pending' | 'none' }
  /** `blocker` blocks `blocked` (`on`) or no longer does (`off`); any follow edges between them are gone. */
  | { type: 'block.changed'; blocker: string; blocked: string; on: boolean }
  /** A post is durable: its id carries the author's shard. */
  | { type: 'post.created'; postId: string; authorId: string; createdAt: number }
  /** A post is gone (deleted by its author, or with its author's account). */
  | { type: 'post.deleted'; postId: string; authorId: string };

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
