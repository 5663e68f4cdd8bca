/**
 * The push provider port: sends one message to one device token and says
 * what became of it. Adapters (`server/src/adapters/`): `LogPushProvider`
 * (the default: writes the push to the log) and `HttpPushProvider` (POSTs
 * the APNs- or FCM-shaped message to a configured URL). The outbox worker
 * (`push-worker.ts`) is the only caller.
 *
 * Contract:
 * - `send` resolves with the provider's answer: `ok` (accepted), `retry`
 *   (try again later, not before `retryAfterMs` when given), `gone` (the
 *   token is invalid for good: the device is forgotten) or `failed` (this
 *   message can never succeed: it goes dead at once).
 * - A throw (the provider unreachable, a timeout) counts as `retry`.
 * - It settles soon after `signal` aborts (the node is stopping); the
 *   message may or may not have reached the provider then.
 * - It may run concurrently for different messages.
 */
export interface PushProvider {
  readonly name: string;
  send(message: PushMessage, signal: AbortSignal): Promise<PushResult>;
  /** Releases what it holds (kept-alive connections), once no send is running. */
  close?(): Promise<void>;
}

export type PushPlatform = 'apns' | 'fcm';

/** One push to one device, as the outbox hands it to a provider. */
export interface PushMessage {
  platform: PushPlatform;
  token: string;
  /** The app's bundle id (APNs topic) or Android package, as the device registered it. */
  appId: string | null;
  locale: string | null;
  /** The notification this push shows; the app reports it as shown (`data.notificationId`). */
  notificationId: string;
  title?: string;
  body: string;
  collapseKey?: string;
  badge?: number;
  data?: Record<string, string>;
}

export type PushResult =
  | { outcome: 'ok' }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  | { outcome: 'gone'; reason: string }
  | { outcome: 'failed'; reason: string };
