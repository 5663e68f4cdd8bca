import type { PushMessage } from './provider.js';

/**
 * What the HTTP provider POSTs for one push: the platform's own request,
 * ready for a relay to hand to APNs (HTTP/2 headers and JSON payload) or to
 * FCM (the HTTP v1 `messages:send` body), beside the fields a relay routes
 * by. `data.notificationId` reaches the app on both, so it can report the
 * notification as shown.
 */
export type PushRequest = ApnsRequest | FcmRequest;

export interface ApnsRequest {
  platform: 'apns';
  token: string;
  notificationId: string;
  /** The HTTP/2 request headers APNs reads. */
  headers: Record<string, string>;
  /** The JSON body: `aps` and the app's own keys. */
  payload: { aps: ApsDictionary; [key: string]: unknown };
}

interface ApsDictionary {
  alert: { title?: string; body: string };
  badge?: number;
  sound: 'default';
}

export interface FcmRequest {
  platform: 'fcm';
  token: string;
  notificationId: string;
  /** The body of FCM HTTP v1 `POST …/messages:send`. */
  message: {
    token: string;
    notification: { title?: string; body: string };
    data: Record<string, string>;
    android: { collapse_key?: string; notification: { notification_count?: number } };
  };
}

/** The platform request of one push. */
export function pushRequest(m: PushMessage): PushRequest {
  const data = { ...m.data, notificationId: m.notificationId };
  const alert = m.title === undefined ? { body: m.body } : { title: m.title, body: m.body };
  if (m.platform === 'apns') {
    const headers: Record<string, string> = { 'apns-push-type': 'alert', 'apns-priority': '10' };
    if (m.appId) headers['apns-topic'] = m.appId;
    if (m.collapseKey) headers['apns-collapse-id'] = m.collapseKey;
    const aps: ApsDictionary = { alert, sound: 'default' };
    if (m.badge !== undefined) aps.badge = m.badge;
    return {
      platform: 'apns',
      token: m.token,
      notificationId: m.notificationId,
      headers,
      payload: { ...data, aps },
    };
  }
  return {
    platform: 'fcm',
    token: m.token,
    notificationId: m.notificationId,
    message: {
      token: m.token,
      notification: alert,
      data,
      android: {
        ...(m.collapseKey ? { collapse_key: m.collapseKey } : {}),
        notification: m.badge === undefined ? {} : { notification_count: m.badge },
      },
    },
  };
}
