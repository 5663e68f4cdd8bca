import { ShutterError } from '@shutter/protocol';
import type { HttpRequest } from './types.js';

export function tooLarge(maxBytes: number): ShutterError {
  return new ShutterError('payload_too_large', `the body is larger than ${maxBytes} bytes`, {
    details: { maxBytes },
  });
}

/**
 * `HttpRequest.readAll` for every engine: refuses at once when Content-Length
 * already says too much, otherwise collects the body and stops at the first
 * byte past `maxBytes` (`onOverflow` lets the engine drop the rest).
 */
export async function readAllBody(
  req: Pick<HttpRequest, 'headers' | 'body'>,
  maxBytes: number,
  onOverflow?: () => void,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body()) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      onOverflow?.();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
