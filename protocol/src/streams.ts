/**
 * Stream names: `<kind>:<id>[:<sub>]`, for example `user:42:inbox`,
 * `photo:9f3c:live`, `topic:demo`. Kind is lower-case letters; each further
 * segment 1–128 of `A–Z a–z 0–9 _ . -`; the whole name at most 200 bytes.
 */
export const STREAM_NAME_PATTERN = '^[a-z][a-z0-9_]{0,31}(:[A-Za-z0-9_.-]{1,128}){1,3}$';
const streamRe = new RegExp(STREAM_NAME_PATTERN);

export function isValidStreamName(name: string): boolean {
  return name.length <= 200 && streamRe.test(name);
}

export function streamKind(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
}

/** A position in a stream: the stream's epoch and the seq of the last event seen. */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

/** The live stream of a user's feed: new posts of the authors they follow (below the fan-out threshold). */
export function feedStream(userId: string): string {
  return `user:${userId}:feed`;
}

/** The live stream of an author's new posts: followers of an author above the fan-out threshold subscribe to it. */
export function authorPostsStream(authorId: string): string {
  return `author:${authorId}:posts`;
}
