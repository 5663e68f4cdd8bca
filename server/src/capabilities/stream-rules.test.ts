import { describe, expect, it } from 'vitest';
import { capabilities } from './index.js';
import { streamHistories } from './stream-rules.js';

describe('streamHistories', () => {
  it("gives a stream the history its kind's rule asks for, by the name's kind, and nothing for the rest", () => {
    const historyOf = streamHistories(capabilities);
    // A nearby list is the whole state in each event: the last one is kept.
    expect(historyOf('nearby:0192f0c2-7d1e-7000-8000-000000000001')).toBe(1);
    expect(historyOf('nearby:0192f0c2-7d1e-7000-8000-000000000001:8000')).toBe(1);
    expect(historyOf('post:0192f0c2-7d1e-7000-8000-000000000001')).toBeUndefined();
    expect(historyOf('topic:news')).toBeUndefined();
    expect(historyOf('nearby')).toBe(1);
  });
});
