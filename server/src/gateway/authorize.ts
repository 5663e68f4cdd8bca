import { streamKind } from '@shutter/protocol';

/** Decides whether `userId` may subscribe to `stream`. */
export type SubscribeAuthorizer = (userId: string, stream: string) => boolean | Promise<boolean>;

/**
 * The default policy: `user:<id>:…` streams belong to that user alone;
 * `topic:…` and `photo:…` streams are public; any other kind is refused
 * until a module declares it.
 */
export const defaultAuthorizer: SubscribeAuthorizer = (userId, stream) => {
  const kind = streamKind(stream);
  if (kind === 'user') return stream.split(':')[1] === userId;
  return kind === 'topic' || kind === 'photo';
};
