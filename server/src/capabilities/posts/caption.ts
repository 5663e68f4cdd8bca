import { MAX_HASHTAGS, ShutterError } from '@shutter/protocol';

/**
 * What a caption says beyond its text: its hashtags and @mentions, as
 * stored with the post (lower-cased, without the sign, each once, in order
 * of first appearance).
 *
 * - A hashtag is `#` then one or more Unicode letters, digits (any script)
 *   or `_`, not glued to a word before it (`a#b` is no tag, nor `&#39;`).
 *   At most {@link MAX_HASHTAGS} distinct ones, as Instagram allows; more is
 *   `bad_request`.
 * - A mention is `@` then a username (3–30 of `a-z 0-9 . _`, any case), not
 *   glued to a word before it (`me@example.com` is no mention). Dots at its
 *   end are the sentence's, not the name's (`@alice.` mentions `alice`).
 *   Mentions are not checked to name an account.
 */
export interface CaptionParts {
  hashtags: string[];
  mentions: string[];
}

const HASHTAG = /(?<![\p{L}\p{N}\p{M}_&#])#([\p{L}\p{N}\p{M}_]+)/gu;
const MENTION = /(?<![\p{L}\p{N}\p{M}_.@])@([A-Za-z0-9._]+)/gu;
const USERNAME = /^[a-z0-9._]{3,30}$/;

export function parseCaption(caption: string): CaptionParts {
  const hashtags = new Set<string>();
  for (const m of caption.matchAll(HASHTAG)) hashtags.add((m[1] as string).toLowerCase());
  if (hashtags.size > MAX_HASHTAGS)
    throw new ShutterError(
      'bad_request',
      `a caption has at most ${MAX_HASHTAGS} hashtags (this one has ${hashtags.size})`,
    );
  return { hashtags: [...hashtags], mentions: parseMentions(caption) };
}

/** The @mentions of a text (a caption, a comment) by the rule above: lower-cased, each once, in order. */
export function parseMentions(text: string): string[] {
  const mentions = new Set<string>();
  for (const m of text.matchAll(MENTION)) {
    const name = (m[1] as string).replace(/\.+$/, '').toLowerCase();
    if (USERNAME.test(name)) mentions.add(name);
  }
  return [...mentions];
}
