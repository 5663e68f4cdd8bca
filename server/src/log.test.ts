import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { actorErrorKey, DedupLog } from './log.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: pino({ level: 'info' }, stream) };
}

describe('DedupLog', () => {
  it('logs the first of identical errors at once and the repeats as one counted line per window', async () => {
    const { lines, log } = capture();
    let t = 1_000;
    const d = new DedupLog(log, 10_000, 100, () => t);
    const err = new Error('write refused');
    for (let i = 0; i < 84; i++) d.error('k', { err, id: 'x' }, 'actor error');
    d.error('other', { err: new Error('else') }, 'actor error');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual(['actor error', 'actor error']);
    expect((lines[0]?.err as { stack?: string }).stack).toContain('write refused');
    t += 10_000;
    d.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ msg: 'actor error (repeated)', repeated: 83, id: 'x' });
    expect(lines[2]?.err).toBeUndefined(); // no second stack
    // Still repeating: counted again in the next window, never one line each.
    for (let i = 0; i < 10; i++) d.error('k', { err, id: 'x' }, 'actor error');
    t += 10_000;
    d.close();
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ repeated: 10 });
  });

  it('keys actor reports by code, message, phase and type', () => {
    const e = Object.assign(new Error('m'), { code: 'state_rejected' });
    expect(actorErrorKey(e, { phase: 'save', type: 'counter', id: 'a' })).toBe(
      actorErrorKey(e, { phase: 'save', type: 'counter', id: 'b' }),
    );
    expect(actorErrorKey(e, { phase: 'save', type: 'counter' })).not.toBe(
      actorErrorKey(e, { phase: 'activate', type: 'counter' }),
    );
  });
});
