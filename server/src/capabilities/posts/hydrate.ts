import { isId, type Post, type PostImage } from '@shutter/protocol';
import type { MediaItem } from '../../media/media-records.js';
import { type UserRow, Users } from '../accounts/users.js';
import { GraphReads, mayView } from '../graph/edges.js';
import { likedAmong } from '../likes/likes-rows.js';
import type { CapabilityPorts } from '../operation.js';
import { type PostRow, selectPosts } from './post-rows.js';

/** What hydration reads: the databases, the media records and the object store's URLs. */
export type HydrationPorts = Pick<CapabilityPorts, 'db' | 'media' | 'blobs'>;

/** How long a variant URL in a hydrated post stays valid, at least. */
export const VARIANT_URL_TTL_SECONDS = 24 * 3600;
/**
 * Variant URLs expire on a whole hour: every read within the same hour
 * answers the same URL for a key (on the local store, whose signature covers
 * only key and expiry), so clients' image caches keep hitting across feed
 * reads. S3 URLs also carry their signing time and change on every read.
 */
const URL_EXPIRY_STEP_SECONDS = 3600;

/**
 * The posts `postIds` names as `viewerId` sees them, hydrated (author,
 * media with variant URLs and ThumbHash, counts), in the order given;
 * missing, deleted and invisible posts (private author not followed, a
 * block either way, a deleted author) are left out, as are repeated ids.
 *
 * A FIXED number of queries whatever the page size (what the feed reads
 * each page with):
 * 1. the posts, one query per database holding some of them (`db.each`);
 * 2. at once: their authors (`Users.many`, one query per database), the
 *    viewer's follow and block rows toward them (one query on the viewer's
 *    database: `GraphReads.viewerRelations`) and the viewer's likes among
 *    them (`likedAmong`, one query per database holding some: a like lives
 *    with its post);
 * 3. every media item of the page and the authors' avatars (one query on
 *    the home database, where media records live).
 */
export async function hydratePosts(
  ports: HydrationPorts,
  viewerId: string,
  postIds: readonly string[],
): Promise<Post[]> {
  const ids = [...new Set(postIds)].filter(isId);
  if (ids.length === 0) return [];
  const byId = new Map((await selectPosts(ports.db, ids)).map((r) => [r.id, r]));
  const rows = ids.map((id) => byId.get(id)).filter((r): r is PostRow => r !== undefined && !r.deleted);
  return hydrateRows(ports, viewerId, rows);
}

/**
 * Rows already read (in the order to answer), hydrated for `viewerId`:
 * steps 2 and 3 of {@link hydratePosts}. Rows of authors the viewer may not
 * see, or who are gone, are left out (with `checkVisibility: false` the
 * caller has checked: a user's own list).
 */
export async function hydrateRows(
  ports: HydrationPorts,
  viewerId: string,
  rows: readonly PostRow[],
  opts: { checkVisibility?: boolean } = {},
): Promise<Post[]> {
  if (rows.length === 0) return [];
  const authorIds = [...new Set(rows.map((r) => r.authorId))];
  const check = opts.checkVisibility ?? true;
  const [authors, relations, liked] = await Promise.all([
    new Users(ports.db).many(authorIds),
    check ? new GraphReads(ports.db).viewerRelations(viewerId, authorIds) : undefined,
    likedAmong(
      ports.db,
      viewerId,
      rows.map((r) => r.id),
    ),
  ]);
  const visible = rows.filter((r) => {
    const author = authors.get(r.authorId);
    return author !== undefined && (!relations || mayView(viewerId, author, relations));
  });
  const mediaIds = visible.flatMap((r) => r.mediaIds);
  for (const id of authorIds) {
    const avatar = authors.get(id)?.avatarMediaId;
    if (avatar) mediaIds.push(avatar);
  }
  const media = new Map((await ports.media.many(mediaIds)).map((m) => [m.id, m]));
  const images = new ImageMaker(ports.blobs, media);
  return Promise.all(
    visible.map((r) => toPost(r, authors.get(r.authorId) as UserRow, images, liked.has(r.id))),
  );
}

async function toPost(r: PostRow, author: UserRow, images: ImageMaker, likedByMe: boolean): Promise<Post> {
  const [avatar, media] = await Promise.all([
    author.avatarMediaId ? images.image(author.avatarMediaId) : undefined,
    Promise.all(r.mediaIds.map((id) => images.image(id))),
  ]);
  const post: Post = {
    id: r.id,
    author: {
      id: author.id,
      username: author.username,
      displayName: author.displayName,
      avatar: avatar ?? null,
    },
    caption: r.caption,
    hashtags: r.hashtags,
    mentions: r.mentions,
    location: r.location,
    createdAt: r.createdAt,
    media: media.filter((m): m is PostImage => m !== undefined),
    likeCount: r.likeCount,
    commentCount: r.commentCount,
    likedByMe,
  };
  if (r.deleted) post.deleted = true;
  return post;
}

/** Images of ready media items, each variant's URL made once per hydration. */
export class ImageMaker {
  private readonly urls = new Map<string, Promise<string>>();
  /** Seconds from now to the shared expiry of this hydration's URLs (see URL_EXPIRY_STEP_SECONDS). */
  private readonly expiresInSeconds: number;

  constructor(
    private readonly blobs: HydrationPorts['blobs'],
    private readonly media: Map<string, MediaItem>,
  ) {
    const now = Math.ceil(Date.now() / 1000);
    const step = URL_EXPIRY_STEP_SECONDS;
    this.expiresInSeconds = Math.ceil((now + VARIANT_URL_TTL_SECONDS) / step) * step - now;
  }

  /** The image of a ready item, or undefined (an item not ready, or gone, is left out). */
  async image(mediaId: string): Promise<PostImage | undefined> {
    const m = this.media.get(mediaId);
    if (m?.status !== 'ready') return undefined;
    const variants = [...m.variants].sort((a, b) => a.size - b.size || a.format.localeCompare(b.format));
    return {
      mediaId: m.id,
      width: m.width ?? 0,
      height: m.height ?? 0,
      placeholder: m.placeholder,
      variants: await Promise.all(
        variants.map(async (v) => ({
          size: v.size,
          format: v.format,
          width: v.width,
          height: v.height,
          url: await this.url(v.key),
        })),
      ),
    };
  }

  private url(key: string): Promise<string> {
    let u = this.urls.get(key);
    if (!u) {
      u = this.blobs.presignGet(key, { expiresInSeconds: this.expiresInSeconds });
      this.urls.set(key, u);
    }
    return u;
  }
}
