import type { ActorEnvelope } from './placement.js';

/**
 * One message in flight inside a system, from `ask`/`tell`/`deliverLocal` to
 * its outcome. Settles once: later outcomes (a turn finishing after the
 * deadline fired, say) are ignored.
 *
 * `routable` deliveries started here (`ask`, `tell`) and may be routed again
 * after a retryable failure; deliveries from the bus (`deliverLocal`) are not:
 * their sender retries.
 */
export class Delivery {
  done = false;
  attempt = 0;
  lastError: unknown;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The time read from `env.idempotencyKey`, once parsed. */
  keyAt: number | undefined;

  constructor(
    readonly env: ActorEnvelope,
    /** `Placement.shardOf(env.type, env.id)`, computed once. */
    readonly shard: number,
    readonly routable: boolean,
    private readonly onResolve: (value: unknown) => void,
    private readonly onReject: (err: unknown) => void,
    /** Timer messages do not count as activity for the idle timeout. */
    readonly fromTimer = false,
  ) {}

  resolve(value: unknown): void {
    if (this.done) return;
    this.finish();
    this.onResolve(value);
  }

  reject(err: unknown): void {
    if (this.done) return;
    this.finish();
    this.onReject(err);
  }

  private finish(): void {
    this.done = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
  }
}
