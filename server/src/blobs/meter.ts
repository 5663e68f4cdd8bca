import { createHash, type Hash } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';

export interface MeterLimits {
  /** The body must be exactly this long (`size_mismatch` otherwise). */
  exact?: number;
  /** The body may be at most this long; `tooLarge` builds the error (default `payload_too_large`). */
  max?: number;
  tooLarge?: (max: number) => Error;
}

/**
 * Counts and hashes bytes as they stream through `pipe`, failing the stream as
 * soon as a limit is crossed: nothing is buffered beyond the chunk in hand.
 */
export class ByteMeter {
  bytes = 0;
  private readonly hashes = new Map<string, Hash>();

  constructor(
    algorithms: readonly string[],
    private readonly limits: MeterLimits = {},
  ) {
    for (const a of algorithms) this.hashes.set(a, createHash(a));
  }

  async *pipe(src: AsyncIterable<Uint8Array> | Uint8Array): AsyncGenerator<Uint8Array> {
    const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = src instanceof Uint8Array ? [src] : src;
    for await (const chunk of chunks) {
      this.bytes += chunk.byteLength;
      this.check();
      for (const h of this.hashes.values()) h.update(chunk);
      yield chunk;
    }
    const { exact } = this.limits;
    if (exact !== undefined && this.bytes !== exact) throw sizeMismatch(exact, this.bytes);
  }

  /** The digest of everything piped so far (call once, after the stream ended). */
  digest(algorithm: string, encoding: 'hex' | 'base64' = 'hex'): string {
    const h = this.hashes.get(algorithm);
    if (!h) throw new Error(`not hashing ${algorithm}`);
    return h.digest(encoding);
  }

  private check(): void {
    const { exact, max, tooLarge } = this.limits;
    if (exact !== undefined && this.bytes > exact) throw sizeMismatch(exact, this.bytes);
    if (max !== undefined && this.bytes > max) {
      throw tooLarge
        ? tooLarge(max)
        : new ShutterError('payload_too_large', `the body is larger than ${max} bytes`, {
            details: { maxBytes: max },
          });
    }
  }
}

export function sizeMismatch(expected: number, got: number): ShutterError {
  const seen = got > expected ? `more than ${expected}` : String(got);
  return new ShutterError('size_mismatch', `expected ${expected} bytes, received ${seen}`, {
    details: { expected, received: got },
  });
}
