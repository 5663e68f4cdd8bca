import { addExtension } from 'msgpackr';

/**
 * msgpackr's decoder builds RegExp, Error, Set, Map-like clones, typed arrays,
 * Date and BigInt from extension types (and `undefined` from type 0) even with records and structured
 * clones off. Untrusted frames must never reach handlers as such objects, so
 * the server replaces each of those unpackers with one that throws. This is
 * process-wide (msgpackr keeps one table) and idempotent; the protocol never
 * uses extension types, so our own encoding is unaffected.
 */
const BLOCKED_EXTENSION_TYPES = [0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x73, 0x74, 0x78, 0xff] as const;

let hardened = false;

export function hardenMsgpackDecoding(): void {
  if (hardened) return;
  for (const type of BLOCKED_EXTENSION_TYPES) {
    addExtension({
      type,
      unpack: () => {
        throw new TypeError(`msgpack extension type 0x${type.toString(16)} is not allowed`);
      },
    });
  }
  hardened = true;
}
