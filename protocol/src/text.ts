/**
 * Strings on the wire must be well-formed Unicode (no lone UTF-16 surrogate)
 * and hold no NUL. JSON can carry both (`"\ud800"`, `"\u0000"` escapes) and
 * msgpack can carry NUL; either would poison what a string is stored in
 * (Postgres text refuses NUL and invalid UTF-8, so one such counter name
 * failed a whole write batch). Both codecs check every decoded frame —
 * keys included, free-form `params`/`data` included — and throw
 * `UncleanTextError`, so every message and method, present and future, is
 * covered; `validate` and `validateParams` check values from elsewhere (HTTP
 * bodies). Clients get `bad_request`, counted as a bad frame.
 */

/** A frame decoded, but a string or key in it is not clean text; `value` is what it decoded to. */
export class UncleanTextError extends TypeError {
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
    this.name = 'UncleanTextError';
  }
}

/** Throws `UncleanTextError` when a string or key inside `value` is not clean text. */
export function assertCleanText(value: unknown): void {
  const why = findUncleanText(value);
  if (why !== undefined) throw new UncleanTextError(why, value);
}

type WellFormed = (this: string) => boolean;
const nativeIsWellFormed = (String.prototype as { isWellFormed?: WellFormed }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** True when `s` is well-formed Unicode without NUL. */
export function isCleanText(s: string): boolean {
  // A loop beats a regex call on the short strings of the protocol; any
  // surrogate (an emoji, say) or NUL sends the string to the exact check.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return exactCheck(s);
  }
  return true;
}

function exactCheck(s: string): boolean {
  if (s.includes('\0')) return false;
  return nativeIsWellFormed ? nativeIsWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * False only when no string parsed from this JSON text can hold NUL or a
 * lone surrogate: the text is well-formed and has no `\u0000` and no
 * `\uD800`–`\uDFFF` escape. One native check per frame instead of one per string.
 */
export function jsonMayHoldUncleanText(text: string): boolean {
  return (
    (nativeIsWellFormed ? !nativeIsWellFormed.call(text) : LONE_SURROGATE.test(text)) ||
    SUSPECT_ESCAPE.test(text)
  );
}

/** True when every string and key inside `value` is clean (iterative: depth is bounded only by the frame size). */
function allClean(value: unknown): boolean {
  if (typeof value === 'string') return isCleanText(value);
  if (typeof value !== 'object' || value === null) return true;
  const stack: object[] = [value];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x === 'string') {
          if (!isCleanText(x)) return false;
        } else if (typeof x === 'object' && x !== null) stack.push(x);
      }
    } else {
      for (const k in v) {
        if (!isCleanText(k)) return false;
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === 'string') {
          if (!isCleanText(x)) return false;
        } else if (typeof x === 'object' && x !== null) stack.push(x);
      }
    }
  }
  return true;
}

/**
 * Returns a description of the first string or key inside `value` that is
 * not clean text, with its path, or `undefined` when every one is. The
 * common case (all clean) is one walk that builds no paths.
 */
export function findUncleanText(value: unknown): string | undefined {
  if (allClean(value)) return undefined;
  if (typeof value === 'string') return describe('/', value);
  const stack: [unknown, string][] = [[value, '']];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === 'string') {
      if (!isCleanText(v)) return describe(path, v);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (const k of keys) if (!isCleanText(k)) return describe(`${path}/${JSON.stringify(k)}`, k, 'key');
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push([(v as Record<string, unknown>)[k], `${path}/${k}`]);
      }
    }
  }
  return 'a string is not well-formed Unicode or holds NUL';
}

function describe(path: string, s: string, what = 'string'): string {
  const why = s.includes('\0') ? 'holds NUL (U+0000)' : 'is not well-formed Unicode (a lone surrogate)';
  return `${path}: the ${what} ${why}`;
}
