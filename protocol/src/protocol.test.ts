import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  closeActionOf,
  formatCloseReason,
  hardenMsgpackDecoding,
  isValidStreamName,
  jsonCodec,
  msgpackCodec,
  parseCloseReason,
} from './index.js';
import { validateClientMessage, validateParams } from './validate.js';

hardenMsgpackDecoding();

describe('codecs', () => {
  it('round-trip every client message type on both codecs', () => {
    const msgs = [
      { t: 'hello', v: 1, token: 'abc', client: { name: 'ios', version: '1.0' } },
      { t: 'auth', id: 1, token: 'abc' },
      { t: 'req', id: 2, method: 'system.echo', params: { text: 'hi' }, ikey: 'key-12345678' },
      { t: 'sub', id: 3, stream: 'user:42:inbox', from: { epoch: 'e1', seq: 9 } },
      { t: 'unsub', id: 4, stream: 'topic:demo' },
      { t: 'ping' },
    ] as const;
    for (const codec of [jsonCodec, msgpackCodec]) {
      for (const m of msgs) {
        const v = validateClientMessage(codec.decode(codec.encode(m)));
        expect(v).toEqual({ ok: true, value: m });
      }
    }
  });

  it('msgpack refuses extension types that would build objects', () => {
    const dangerous = new Packr({ structuredClone: true, moreTypes: true });
    for (const value of [new Date(0), new Set([1]), /x/, new Error('e'), new Uint16Array(2), 10n ** 30n]) {
      const bytes = dangerous.pack({ t: 'ping', x: value });
      expect(() => msgpackCodec.decode(bytes)).toThrow();
    }
  });

  it('msgpack refuses trailing bytes and text frames', () => {
    const bytes = msgpackCodec.encode({ t: 'ping' }) as Uint8Array;
    expect(() => msgpackCodec.decode(Buffer.concat([bytes, Buffer.from([1])]))).toThrow();
    expect(() => msgpackCodec.decode('{"t":"ping"}')).toThrow();
  });

  it('json refuses invalid UTF-8 in binary frames', () => {
    expect(() => jsonCodec.decode(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow();
  });
});

describe('validation', () => {
  it('refuses unknown types, extra fields and wrong shapes, keeping a usable id', () => {
    expect(validateClientMessage(null).ok).toBe(false);
    expect(validateClientMessage([1]).ok).toBe(false);
    expect(validateClientMessage({ t: 'nope', id: 5 })).toMatchObject({ ok: false, id: 5 });
    expect(validateClientMessage({ t: 'ping', extra: 1 }).ok).toBe(false);
    expect(validateClientMessage({ t: 'req', id: 7, method: 'bad method' })).toMatchObject({
      ok: false,
      id: 7,
    });
    expect(validateClientMessage({ t: 'sub', id: 0, stream: 'topic:x' }).ok).toBe(false);
    expect(validateClientMessage({ t: 'hello', v: 2, token: 'x' }).ok).toBe(false);
  });

  it('checks method params', () => {
    expect(validateParams('system.echo', { text: 'x' }).ok).toBe(true);
    expect(validateParams('system.echo', { text: 1 }).ok).toBe(false);
    expect(validateParams('system.echo', { text: 'x', more: 1 }).ok).toBe(false);
  });

  it('stream grammar', () => {
    for (const ok of ['user:42:inbox', 'photo:9f3c', 'topic:demo', 'a:b:c:d'])
      expect(isValidStreamName(ok)).toBe(true);
    for (const bad of ['', 'user', 'User:1', 'user:', 'user:a b', 'a:b:c:d:e', `topic:${'x'.repeat(200)}`]) {
      expect(isValidStreamName(bad)).toBe(false);
    }
  });
});

describe('close codes', () => {
  it('maps codes to actions and round-trips reasons', () => {
    expect(closeActionOf(CloseCode.slow_consumer.code)).toBe('resume');
    expect(closeActionOf(CloseCode.auth_failed.code)).toBe('reauth');
    expect(closeActionOf(4999)).toBe('backoff');
    expect(parseCloseReason(formatCloseReason('over_capacity', 1500))).toEqual({
      name: 'over_capacity',
      retryAfterMs: 1500,
    });
    expect(parseCloseReason('going_away')).toEqual({ name: 'going_away' });
  });
});
