import type { EvMessage, StreamPosition, SubscribeResult } from '@shutter/protocol/wire';

export type EventVerdict =
  /** Next in order: deliver it; the position moved to it. */
  | 'deliver'
  /** Already seen (seq ≤ last): drop it. */
  | 'duplicate'
  /** Something is missing (seq > last + 1, or another epoch): resubscribe from the position. */
  | 'gap';

export type ResultVerdict =
  | { kind: 'fresh' | 'recovered' }
  /** History does not reach the old position: the app must reload; `previous` is where it was. */
  | { kind: 'refetch'; previous: StreamPosition | undefined };

/**
 * The last (epoch, seq) a subscription delivered, and the rules that keep
 * delivery exactly-once and in order: seq grows by exactly one per event
 * within an epoch, so anything else is a duplicate or a gap.
 */
export class StreamCursor {
  #position: StreamPosition | undefined;

  constructor(from?: StreamPosition) {
    this.#position = from ? { ...from } : undefined;
  }

  get position(): StreamPosition | undefined {
    return this.#position ? { ...this.#position } : undefined;
  }

  /** Applies the answer to a `sub` that was sent with `from: this.position`. */
  applyResult(result: SubscribeResult): ResultVerdict {
    switch (result.status) {
      case 'fresh':
        this.#position = { epoch: result.epoch, seq: result.seq };
        return { kind: 'fresh' };
      case 'recovered':
        // The missed events follow and move the position themselves.
        if (this.#position?.epoch !== result.epoch) {
          this.#position = { epoch: result.epoch, seq: Math.max(0, result.seq - result.missed) };
        }
        return { kind: 'recovered' };
      case 'refetch': {
        const previous = this.position;
        this.#position = { epoch: result.epoch, seq: result.seq };
        return { kind: 'refetch', previous };
      }
      default: {
        const never: never = result.status;
        throw new TypeError(`unknown subscribe status ${String(never)}`);
      }
    }
  }

  accept(ev: Pick<EvMessage, 'epoch' | 'seq'>): EventVerdict {
    const pos = this.#position;
    if (!pos) {
      this.#position = { epoch: ev.epoch, seq: ev.seq };
      return 'deliver';
    }
    if (ev.epoch !== pos.epoch) return 'gap';
    if (ev.seq <= pos.seq) return 'duplicate';
    if (ev.seq !== pos.seq + 1) return 'gap';
    pos.seq = ev.seq;
    return 'deliver';
  }
}
