import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ActorError,
  ActorErrorCodes,
  ActorHandlerError,
  ActorTimeout,
  ActorUnavailable,
  fromWireError,
  IdempotencyKeyExpired,
  IdempotencyKeyInvalid,
  isRetryable,
  ShardNotOwned,
  StaleEpoch,
  StateRejected,
  toWireError,
  UnknownActorType,
  UnknownMessage,
  VersionConflict,
} from './errors.js';

describe('actor errors', () => {
  it('docs/errors.md "Actor runtime" lists exactly the codes and retryability of ActorErrorCodes', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Actor runtime'));
    const next = section.indexOf('\n## ', 3);
    const rows = [...(next > 0 ? section.slice(0, next) : section).matchAll(/^\| `(\w+)` \| (yes|no) \|/gm)];
    const documented = Object.fromEntries(rows.map((m) => [m[1], m[2] === 'yes']));
    const actual = Object.fromEntries(Object.entries(ActorErrorCodes).map(([c, v]) => [c, v.retryable]));
    expect(documented).toEqual(actual);
  });

  it('each class has its code, its name and the table retryability, and survives the wire by code', () => {
    const all: ActorError[] = [
      new ActorTimeout('x', Date.now()),
      new ActorHandlerError('m', { handlerCode: 'forbidden', public: true }),
      new ActorUnavailable('m'),
      new UnknownActorType('t'),
      new UnknownMessage('t', 'm'),
      new ShardNotOwned(1),
      new StaleEpoch(1, 1, 2),
      new VersionConflict('t', 'i', 1, 2),
      new StateRejected('m'),
      new IdempotencyKeyInvalid('k', 'why'),
      new IdempotencyKeyExpired('k', 2, 1),
    ];
    expect(all.map((e) => e.code).sort()).toEqual(Object.keys(ActorErrorCodes).sort());
    for (const e of all) {
      expect(e.name).toBe(e.constructor.name);
      expect(e.retryable).toBe(ActorErrorCodes[e.code].retryable);
      expect(isRetryable(e)).toBe(e.retryable);
      const back = fromWireError(JSON.parse(JSON.stringify(toWireError(e))));
      expect({ code: back.code, retryable: back.retryable, message: back.message }).toEqual({
        code: e.code,
        retryable: e.retryable,
        message: e.message,
      });
    }
  });

  it('masks foreign errors on the wire and treats bus no-responders as retryable', () => {
    expect(toWireError(new Error('db password is hunter2'))).toEqual({
      code: 'actor_unavailable',
      message: 'remote failure',
      retryable: false,
    });
    expect(fromWireError({ code: 'martian', message: 'x', retryable: false }).code).toBe('actor_unavailable');
    expect(isRetryable({ code: 'bus_no_responders' })).toBe(true);
    expect(isRetryable({ code: 'bus_timeout' })).toBe(false);
    expect(isRetryable('nope')).toBe(false);
  });
});
