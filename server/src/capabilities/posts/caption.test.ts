import { ShutterError } from '@shutter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCaption } from './caption.js';

describe('parseCaption', () => {
  it('finds hashtags in any script, lower-cased, once each, in order of first appearance', () => {
    expect(parseCaption('Sunset #Beach #été #夕日 #beach #snake_case #2024!').hashtags).toEqual([
      'beach',
      'été',
      '夕日',
      'snake_case',
      '2024',
    ]);
  });

  it('does not take a # glued to a word, an HTML entity or a lone #', () => {
    expect(parseCaption('a#b c&#39;d # e ##f').hashtags).toEqual([]);
  });

  it('finds mentions by the username rules, lower-cased, dropping sentence dots', () => {
    expect(parseCaption('with @Alice, @bob.smith and @carol_. Thanks @alice!').mentions).toEqual([
      'alice',
      'bob.smith',
      'carol_',
    ]);
  });

  it('does not take e-mail addresses, too short or too long names', () => {
    const long = 'x'.repeat(31);
    expect(parseCaption(`mail me@example.com, @ab, @${long}`).mentions).toEqual([]);
  });

  it('allows 30 distinct hashtags and refuses 31 with bad_request', () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `#t${i}`).join(' ');
    expect(parseCaption(tags(30)).hashtags).toHaveLength(30);
    expect(parseCaption(`${tags(30)} #T0 #t1`).hashtags).toHaveLength(30);
    const err = (() => {
      try {
        parseCaption(tags(31));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShutterError);
    expect((err as ShutterError).code).toBe('bad_request');
    expect((err as ShutterError).message).toContain('31');
  });

  it('every parsed tag and mention is lower-case, unique, and appears in the caption', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (caption) => {
        let parts: ReturnType<typeof parseCaption>;
        try {
          parts = parseCaption(caption);
        } catch {
          return; // more than 30 tags
        }
        const lower = caption.toLowerCase();
        for (const list of [parts.hashtags, parts.mentions]) {
          expect(new Set(list).size).toBe(list.length);
          for (const x of list) expect(x).toBe(x.toLowerCase());
        }
        for (const t of parts.hashtags) expect(lower).toContain(`#${t}`);
        for (const m of parts.mentions) expect(lower).toContain(`@${m}`);
      }),
    );
  });
});
