import { describe, expect, it } from 'vitest';
import { classifyPushAnswer, parseRetryAfter } from '../adapters/http-push-provider.js';
import { MAX_RETRY_AFTER_MS, retryDelay } from './backoff.js';
import { pushRequest } from './payload.js';
import type { PushMessage } from './provider.js';
import { MAX_BODY, storedMessage } from './sql-push-outbox.js';

const o = { backoffBaseMs: 1000, backoffMaxMs: 60_000 };

describe('retryDelay', () => {
  it('doubles from the base, capped, taken in [d/2, d]', () => {
    expect([1, 2, 3, 4].map((a) => retryDelay(o, a, 0, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((a) => retryDelay(o, a, 0, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(o, 30, 0, () => 1)).toBe(60_000);
    expect(retryDelay(o, 30, 0, () => 0)).toBe(30_000);
  });

  it('never comes before a Retry-After, which is capped at an hour', () => {
    expect(retryDelay(o, 1, 5000, () => 1)).toBe(5000);
    expect(retryDelay(o, 1, 10 * MAX_RETRY_AFTER_MS, () => 1)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelay(o, 3, 100, () => 1)).toBe(4000);
  });
});

describe('classifyPushAnswer', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('2xx is ok; 410 and token-gone bodies are gone, whatever the status', () => {
    expect(classifyPushAnswer(200, null, '')).toEqual({ outcome: 'ok' });
    expect(classifyPushAnswer(204, null, 'not json')).toEqual({ outcome: 'ok' });
    expect(classifyPushAnswer(410, null, '').outcome).toBe('gone');
    for (const body of [
      { reason: 'Unregistered' },
      { reason: 'BadDeviceToken' },
      { error: { status: 'NOT_FOUND', details: [{ '@type': 'x', errorCode: 'UNREGISTERED' }] } },
      { results: [{ error: 'NotRegistered' }] },
      { error: 'unregistered' },
    ]) {
      for (const status of [200, 400, 404])
        expect(classifyPushAnswer(status, null, JSON.stringify(body)).outcome, JSON.stringify(body)).toBe(
          'gone',
        );
    }
  });

  it('429 and 5xx are retry, with Retry-After in seconds or as a date; other 4xx and 3xx failed', () => {
    expect(classifyPushAnswer(429, '7', '', now)).toMatchObject({ outcome: 'retry', retryAfterMs: 7000 });
    expect(classifyPushAnswer(503, 'Tue, 01 Jan 2030 00:00:30 GMT', '', now)).toMatchObject({
      outcome: 'retry',
      retryAfterMs: 30_000,
    });
    expect(classifyPushAnswer(500, null, 'oops')).toEqual({ outcome: 'retry', reason: '500 oops' });
    expect(classifyPushAnswer(400, null, '{"reason":"PayloadTooLarge"}').outcome).toBe('failed');
    expect(classifyPushAnswer(403, null, '{"reason":"DeviceTokenNotForTopic"}').outcome).toBe('failed');
    expect(classifyPushAnswer(301, null, '').outcome).toBe('failed');
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
  });
});

describe('pushRequest', () => {
  const m: PushMessage = {
    platform: 'apns',
    token: 'ab'.repeat(32),
    appId: 'com.example.shutter',
    locale: 'fr-FR',
    notificationId: 'n1',
    title: 'Shutter',
    body: 'alice liked your photo',
    collapseKey: 'like:p1',
    badge: 3,
    data: { postId: 'p1' },
  };

  it('shapes APNs: headers (topic, collapse id) and aps with alert and badge, data beside it', () => {
    expect(pushRequest(m)).toEqual({
      platform: 'apns',
      token: m.token,
      notificationId: 'n1',
      headers: {
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'apns-topic': 'com.example.shutter',
        'apns-collapse-id': 'like:p1',
      },
      payload: {
        aps: { alert: { title: 'Shutter', body: 'alice liked your photo' }, badge: 3, sound: 'default' },
        postId: 'p1',
        notificationId: 'n1',
      },
    });
  });

  it('shapes FCM v1: message with token, notification, string data, android collapse key and count', () => {
    expect(pushRequest({ ...m, platform: 'fcm', token: 'fcm:tok' })).toEqual({
      platform: 'fcm',
      token: 'fcm:tok',
      notificationId: 'n1',
      message: {
        token: 'fcm:tok',
        notification: { title: 'Shutter', body: 'alice liked your photo' },
        data: { postId: 'p1', notificationId: 'n1' },
        android: { collapse_key: 'like:p1', notification: { notification_count: 3 } },
      },
    });
  });
});

describe('storedMessage', () => {
  it('cuts a long body with an ellipsis, keeps what fits', () => {
    const s = storedMessage({ notificationId: 'n', userId: 'u', body: '😀'.repeat(600), badge: 0 });
    expect([...s.body]).toHaveLength(MAX_BODY);
    expect(s.body.endsWith('…')).toBe(true);
    expect(s.badge).toBe(0);
  });

  it('refuses what a platform would refuse: long collapse keys, bad badges, reserved or large data', () => {
    const base = { notificationId: 'n', userId: 'u', body: 'b' };
    expect(() => storedMessage({ ...base, collapseKey: 'k'.repeat(65) })).toThrow(/collapseKey/);
    expect(() => storedMessage({ ...base, badge: -1 })).toThrow(/badge/);
    expect(() => storedMessage({ ...base, badge: 1.5 })).toThrow(/badge/);
    expect(() => storedMessage({ ...base, data: { aps: 'x' } })).toThrow(/aps/);
    expect(() => storedMessage({ ...base, data: { 'google.x': 'x' } })).toThrow(/google/);
    expect(() => storedMessage({ ...base, data: { big: 'x'.repeat(3000) } })).toThrow(/2048/);
  });
});
