import { MAX_COMMENT_MENTIONS, ShutterError } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { parseCommentMentions } from './mentions.js';

describe('parseCommentMentions', () => {
  it("takes mentions by the caption's rule and ignores hashtags, however many", () => {
    const tags = Array.from({ length: 40 }, (_, i) => `#t${i}`).join(' ');
    expect(parseCommentMentions(`@Bob. and @bob, me@example.com @al ${tags} @carol_x`)).toEqual([
      'bob',
      'carol_x',
    ]);
  });

  it(`refuses more than ${MAX_COMMENT_MENTIONS} distinct names, counting a repeated one once`, () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `@user_${i}`).join(' ');
    expect(parseCommentMentions(`${names(MAX_COMMENT_MENTIONS)} @user_0 @USER_1`)).toHaveLength(
      MAX_COMMENT_MENTIONS,
    );
    let thrown: unknown;
    try {
      parseCommentMentions(names(MAX_COMMENT_MENTIONS + 1));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ShutterError);
    expect((thrown as ShutterError).code).toBe('bad_request');
    expect((thrown as ShutterError).message).toContain(`${MAX_COMMENT_MENTIONS + 1}`);
  });
});
