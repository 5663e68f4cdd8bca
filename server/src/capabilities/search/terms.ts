import { MAX_TAG_LENGTH, MAX_USER_QUERY_LENGTH, ShutterError } from '@shutter/protocol';

/**
 * What the search methods take, checked and normalised before any database
 * is asked: every refusal is `bad_request` with a sentence that says what
 * to send instead, and changes nothing.
 */

const TAG = /^[\p{L}\p{N}\p{M}_]+$/u;
const WORD = /[\p{L}\p{N}]/u;

/**
 * A hashtag as posts store it (`posts/caption.ts`): without its `#`,
 * lower-cased; Unicode letters, digits and `_` only.
 */
export function tagOf(raw: string): string {
  const tag = (raw.startsWith('#') ? raw.slice(1) : raw).toLowerCase();
  if (tag.length === 0)
    throw new ShutterError('bad_request', 'tag is empty: name a hashtag, with or without #');
  if (tag.length > MAX_TAG_LENGTH)
    throw new ShutterError('bad_request', `tag is longer than ${MAX_TAG_LENGTH} characters`);
  if (!TAG.test(tag))
    throw new ShutterError(
      'bad_request',
      'tag must be Unicode letters, digits or _ only (what a hashtag in a caption is made of)',
    );
  return tag;
}

/** A caption search: at least one word (a letter or digit) to look for. */
export function captionQuery(raw: string): string {
  const q = raw.trim();
  if (!WORD.test(q))
    throw new ShutterError(
      'bad_request',
      'q has no word to search for: give at least one letter or digit (punctuation is ignored)',
    );
  return q;
}

/** A user search: a name prefix, without a leading `@`, not blank. */
export function namePrefix(raw: string): string {
  const trimmed = raw.trim();
  const q = trimmed.startsWith('@') ? trimmed.slice(1) : trimmed;
  if (q.length === 0)
    throw new ShutterError('bad_request', 'q is empty: give the first characters of a username or name');
  if (q.length > MAX_USER_QUERY_LENGTH)
    throw new ShutterError('bad_request', `q is longer than ${MAX_USER_QUERY_LENGTH} characters`);
  return q;
}
