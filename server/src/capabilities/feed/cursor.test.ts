import { newId } from '@shutter/protocol';
import { expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

it('round-trips an id through an opaque 22-character cursor', () => {
  for (let i = 0; i < 50; i++) {
    const id = newId(i * 20);
    const c = encodeCursor(id);
    expect(c).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeCursor(c)).toBe(id);
  }
});

it('refuses a cursor it did not make with invalid_cursor', () => {
  const good = encodeCursor(newId(3));
  const bad = ['', 'x', `${good}A`, good.slice(1), '!'.repeat(22), 'AAAAAAAAAAAAAAAAAAAAAA', newId(3)];
  // The last character's spare bits set: decodes to the same bytes, but is not what encodeCursor makes.
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  bad.push(`${good.slice(0, 21)}${abc[abc.indexOf(good.at(-1) as string) ^ 1]}`);
  for (const c of bad)
    expect(() => decodeCursor(c), c).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
});
