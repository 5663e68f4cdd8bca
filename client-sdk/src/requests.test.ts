import type { ClientMessage } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { disconnectedError } from './errors.js';
import { type Outcome, RequestManager } from './requests.js';

function spec(method: string, resend: boolean, outcomes: Outcome[], timeoutMs = 1000) {
  return {
    build: (id: number): ClientMessage =>
      resend ? { t: 'req', id, method, ikey: 'key-12345' } : { t: 'req', id, method },
    resend,
    timeoutMs,
    settle: (o: Outcome) => outcomes.push(o),
  };
}

describe('RequestManager (fake timers)', () => {
  let sent: ClientMessage[];
  const send = (m: ClientMessage) => {
    sent.push(m);
    return 'sent' as const;
  };
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues while detached and flushes in order after attach', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.enqueue(spec('a.b', false, out));
    rm.enqueue(spec('a.c', true, out));
    expect(rm.queued).toBe(2);
    rm.attach(send);
    expect(sent).toEqual([]);
    rm.flush();
    expect(sent.map((m) => (m as { method: string }).method)).toEqual(['a.b', 'a.c']);
    expect(rm.inFlight).toBe(2);
  });

  it('on detach fails non-resendable requests with disconnected and requeues resendable ones with a new id', () => {
    const rm = new RequestManager(10);
    const plain: Outcome[] = [];
    const idem: Outcome[] = [];
    rm.attach(send);
    rm.enqueue(spec('x.plain', false, plain));
    rm.enqueue(spec('x.idem', true, idem));
    const firstId = (sent[1] as { id: number }).id;
    rm.detach();
    expect(plain).toEqual([{ ok: false, error: expect.objectContaining({ code: 'disconnected' }) }]);
    expect(idem).toEqual([]);
    expect(rm.queued).toBe(1);
    rm.attach(send);
    rm.flush();
    const resent = sent[2] as { id: number; method: string; ikey: string };
    expect(resent.method).toBe('x.idem');
    expect(resent.ikey).toBe('key-12345');
    expect(resent.id).not.toBe(firstId);
    expect(rm.resolve(firstId, 'stale')).toBe(false);
    expect(rm.resolve(resent.id, 'ok')).toBe(true);
    expect(idem).toEqual([{ ok: true, result: 'ok' }]);
  });

  it('times out across the outbox and in flight, and forgets the entry', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.enqueue(spec('q.q', true, out, 500));
    vi.advanceTimersByTime(499);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual([{ ok: false, error: expect.objectContaining({ code: 'timeout' }) }]);
    rm.attach(send);
    rm.flush();
    expect(sent).toEqual([]);
  });

  it('maps err frames to ServerError and settles each request once', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.attach(send);
    rm.enqueue(spec('e.e', false, out));
    const id = (sent[0] as { id: number }).id;
    expect(rm.reject({ t: 'err', id, code: 'not_found', message: 'gone' })).toBe(true);
    expect(rm.resolve(id, 'late')).toBe(false);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'not_found', name: 'ServerError' } });
  });

  it('pauseFor holds new requests in the outbox, then flushes them', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.attach(send);
    rm.pauseFor(300);
    rm.enqueue(spec('p.a', false, out));
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(sent.map((m) => (m as { method: string }).method)).toEqual(['p.a']);
  });

  it('sendNow never queues: it fails at once when detached', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.sendNow(spec('s.s', false, out));
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'disconnected' } });
    expect(rm.queued).toBe(0);
  });

  it('failAll fails queued and in-flight requests', () => {
    const rm = new RequestManager(10);
    const out: Outcome[] = [];
    rm.enqueue(spec('f.a', true, out));
    rm.attach(send);
    rm.flush();
    rm.detach();
    rm.enqueue(spec('f.b', false, out));
    rm.failAll(disconnectedError('stopped'));
    expect(out.map((o) => !o.ok && o.error.code)).toEqual(['disconnected', 'disconnected']);
    expect(out).toHaveLength(2);
    vi.advanceTimersByTime(10_000);
    expect(out).toHaveLength(2); // timers were cleared
  });
});
