import { ShutterError } from '@shutter/protocol';
import { GraphReads } from '../graph/edges.js';
import { defineOperation, type OperationContext } from '../operation.js';
import { toProfile } from './account-rows.js';
import { accountsOf } from './accounts-node.js';
import { scheduleRemoval } from './deletions.js';
import { verifyPassword } from './passwords.js';
import { releaseUsername } from './usernames.js';

const notFound = () => new ShutterError('not_found', 'no such user');

/** Anyone's public profile; a user who blocks the caller is not found for them. */
export const profile = defineOperation({
  method: 'accounts.profile',
  summary: 'A public profile by username (any case); counts included.',
  http: { method: 'GET', path: '/v1/users/{username}' },
  auth: 'none',
  handler: async (ctx, p) => {
    const rows = accountsOf(ctx).rows;
    const id = await rows.idOf(p.username);
    const user = id ? await rows.get(id) : undefined;
    if (!user) throw notFound();
    const viewer = ctx.caller.userId;
    // Read on the profile owner's side: its `blocks` rows are in its own database.
    if (viewer && viewer !== user.id && (await new GraphReads(ctx.db).relation(user.id, viewer)).blocking)
      throw notFound();
    return toProfile(user);
  },
});

export const me = defineOperation({
  method: 'accounts.me',
  summary: "The caller's own profile.",
  http: { method: 'GET', path: '/v1/me' },
  auth: 'user',
  handler: async (ctx) => {
    const user = await accountsOf(ctx).rows.get(ctx.caller.userId);
    if (!user) throw notFound();
    return toProfile(user);
  },
});

/** The avatar must be a ready media item of the caller's own. */
async function checkAvatar(ctx: OperationContext, mediaId: string): Promise<void> {
  const m = await ctx.media.get(mediaId);
  // As posts answer: a missing item and someone else's are the same refusal.
  if (m?.ownerId !== ctx.caller.userId)
    throw new ShutterError('media_not_owned', 'the avatar must be a media item of your own', {
      details: { mediaId },
    });
  if (m.status !== 'ready')
    throw new ShutterError('media_not_ready', `the media item is ${m.status}; wait for it to be ready`, {
      details: { mediaId, status: m.status },
    });
}

export const update = defineOperation({
  method: 'accounts.update',
  summary: "Changes the caller's display name, bio, avatar (a ready media id of their own) or private flag.",
  http: { method: 'PATCH', path: '/v1/me' },
  auth: 'user',
  handler: async (ctx, p) => {
    if (typeof p.avatarMediaId === 'string') await checkAvatar(ctx, p.avatarMediaId);
    const user = await accountsOf(ctx).rows.update(ctx.caller.userId, p);
    if (!user) throw notFound();
    return toProfile(user);
  },
});

/**
 * Account deletion, with the password again. The account disappears at
 * once (marked deleted: every read skips it; its sessions are revoked; its
 * username is free for anyone at once); the removal of its data — every
 * capability's `onUserDeleted` (posts, graph edges, feeds), then the user
 * row — is a durable job (`deletions.ts`), retried until it succeeds. A
 * failure before the job is queued leaves the row marked deleted with its
 * password, so the same call, retried, finishes.
 */
export const remove = defineOperation({
  method: 'accounts.delete',
  summary: "Deletes the caller's account and its data (needs the password again).",
  http: { method: 'DELETE', path: '/v1/me' },
  auth: 'user',
  handler: async (ctx, p) => {
    const a = accountsOf(ctx);
    const id = ctx.caller.userId;
    const cred = await a.rows.credentials(id);
    if (!cred) return { deleted: true };
    const key = cred.username.toLowerCase();
    const address = ctx.caller.address ?? '';
    await a.limiter.check(key, address);
    if (!cred.passwordHash || !(await verifyPassword(cred.passwordHash, p.password))) {
      await a.limiter.failed(key, address);
      throw new ShutterError('invalid_credentials', 'wrong password');
    }
    await a.rows.markDeleted(id);
    await a.refresh.revokeAll(id);
    await releaseUsername(ctx.db, key, id);
    await scheduleRemoval(ctx, id);
    return { deleted: true };
  },
});
