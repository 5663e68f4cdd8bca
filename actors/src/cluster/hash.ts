import { shardOfId } from '@shutter/protocol';

/**
 * Small, stable 32-bit hashes for placement. Stable means: the same input
 * gives the same number on every node, every Node.js version and forever, so
 * an actor's shard never changes while the shard count stays the same.
 * FNV-1a over the UTF-8 bytes, finished with murmur3's fmix32 so the low bits
 * (which `% shardCount` keeps) are well mixed.
 */

/** FNV-1a over the UTF-8 encoding of `s`, then fmix32. Unsigned 32-bit. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    // Encode to UTF-8 on the fly: surrogate pairs become one 4-byte sequence.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The logical shard of actor `(type, id)` among `shardCount` shards. An id
 * that carries its owner's shard (a Shutter id, `protocol/src/ids.ts`) is
 * placed by it, so a user's actor, its posts' actors and its rows share one
 * shard (with the default 1 024 shards: the very logical shard of the
 * storage map). Any other id goes by a hash of type and id.
 */
export function shardOf(type: string, id: string, shardCount: number): number {
  const carried = shardOfId(id);
  if (carried !== undefined) return carried % shardCount;
  return hash32(`${type}\u0000${id}`) % shardCount;
}
