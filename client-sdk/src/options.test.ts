import { describe, expect, it } from 'vitest';
import { isValidIdempotencyKey, newIdempotencyKey } from './ikey.js';
import { parseServerMessage } from './inbound.js';
import { resolveOptions } from './options.js';
import { MockWebSocket } from './testing/mock-websocket.js';

const base = { url: 'wss://h.example/ws', token: 't', WebSocket: MockWebSocket };

describe('resolveOptions', () => {
  it('fills in the named defaults', () => {
    const o = resolveOptions(base);
    expect(o.codecs.map((c) => c.name)).toEqual(['msgpack', 'json']);
    expect(o).toMatchObject({
      requestTimeoutMs: 10_000,
      probeTimeoutMs: 10_000,
      outboxLimit: 100,
      reorderWindowMs: 1000,
      backgroundGraceMs: 0,
    });
    expect(o.backoff).toEqual({ minMs: 500, maxMs: 20_000, factor: 2 });
  });

  it('refuses contradictions with one clear sentence', () => {
    expect(() => resolveOptions({ ...base, url: 'http://h/ws' })).toThrow(
      'url must start with ws:// or wss://',
    );
    expect(() => resolveOptions({ url: base.url, WebSocket: MockWebSocket })).toThrow(
      'give either token or getToken',
    );
    expect(() => resolveOptions({ ...base, requestTimeoutMs: 0 })).toThrow(
      'requestTimeoutMs must be a number > 0',
    );
    expect(() => resolveOptions({ ...base, stableConnectionMs: Number.NaN })).toThrow(
      'stableConnectionMs must be a number > 0',
    );
    expect(() => resolveOptions({ ...base, backgroundGraceMs: -1 })).toThrow(
      'backgroundGraceMs must be a number ≥ 0',
    );
    expect(() => resolveOptions({ ...base, resumeJitterMs: Number.NaN })).toThrow(
      'resumeJitterMs must be a number ≥ 0',
    );
    expect(resolveOptions({ ...base, reorderWindowMs: 0, backgroundGraceMs: 0 })).toMatchObject({
      reorderWindowMs: 0,
      backgroundGraceMs: 0,
    });
    expect(() => resolveOptions({ ...base, backoff: { minMs: 10, maxMs: 1 } })).toThrow('backoff.maxMs');
    expect(() => resolveOptions({ ...base, codec: 'xml' as never })).toThrow('codec must be');
    expect(() => resolveOptions({ ...base, clientInfo: { platform: 'x'.repeat(33) } })).toThrow(
      'clientInfo.platform must be at most 32 characters',
    );
  });

  it('uses globalThis.WebSocket when none is given, and says what to do when there is none', () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    try {
      g.WebSocket = MockWebSocket;
      expect(resolveOptions({ url: base.url, token: 't' }).WebSocket).toBe(MockWebSocket);
      delete g.WebSocket;
      expect(() => resolveOptions({ url: base.url, token: 't' })).toThrow(/pass the WebSocket option/);
    } finally {
      if (saved === undefined) delete g.WebSocket;
      else g.WebSocket = saved;
    }
  });
});

describe('idempotency keys', () => {
  it('are valid for the protocol and distinct', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => newIdempotencyKey()));
    expect(keys.size).toBe(1000);
    for (const k of keys) expect(isValidIdempotencyKey(k)).toBe(true);
    expect(isValidIdempotencyKey('short')).toBe(false);
    expect(isValidIdempotencyKey('has space in it')).toBe(false);
  });
});

describe('parseServerMessage', () => {
  it('accepts well-formed frames and refuses malformed ones', () => {
    expect(parseServerMessage({ t: 'pong' }).ok).toBe(true);
    expect(parseServerMessage({ t: 'ev', stream: 's:1', epoch: 'e', seq: 1, data: null, ts: 1 }).ok).toBe(
      true,
    );
    expect(parseServerMessage({ t: 'ev', stream: 's:1', epoch: 'e', seq: -1, data: null, ts: 1 }).ok).toBe(
      false,
    );
    expect(parseServerMessage({ t: 'res', id: 0 }).ok).toBe(false);
    expect(parseServerMessage({ t: 'err', code: 'x' }).ok).toBe(false);
    expect(parseServerMessage({ t: 'notice', kind: 'going_away', retryAfterMs: 1.5 }).ok).toBe(false);
    expect(parseServerMessage([1, 2]).ok).toBe(false);
    expect(parseServerMessage({ t: 'nope' })).toMatchObject({
      ok: false,
      message: expect.stringContaining('unknown'),
    });
  });
});
