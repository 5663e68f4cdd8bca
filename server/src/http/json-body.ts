import { jsonCodec, MalformedFrameError, ShutterError, UncleanTextError } from '@shutter/protocol';

/**
 * An HTTP request body that must be one JSON object, read with the same
 * rules as a JSON frame on the socket (docs/protocol.md §2): valid UTF-8, no
 * key twice in one object, every string and key well-formed Unicode without
 * NUL. Anything else is `bad_request`. `empty`, when given, is what an empty
 * body means.
 */
export function parseJsonObject(body: Uint8Array, empty?: Record<string, unknown>): Record<string, unknown> {
  if (body.length === 0 && empty !== undefined) return empty;
  let v: unknown;
  try {
    v = jsonCodec.decode(body);
  } catch (e) {
    if (e instanceof UncleanTextError) throw new ShutterError('bad_request', `the body: ${e.message}`);
    const why = e instanceof MalformedFrameError ? ` (${e.message})` : '';
    throw new ShutterError('bad_request', `the body must be JSON in UTF-8${why}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ShutterError('bad_request', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}
