import { type Static, Type } from '@sinclair/typebox';

/**
 * The `devices` capability's methods (served by `server/src/capabilities/devices/`):
 * the caller's devices and their push tokens (APNs or FCM), where pushes of
 * notifications no socket showed in time are sent.
 *
 * A device is named by the app's own stable id for its install (iOS
 * `identifierForVendor`, an id the app keeps on Android…): registering it
 * again refreshes its token, locale and app id in place. A token belongs to
 * one user at a time: registered by another user (a shared phone), it
 * leaves the previous one. Every method is idempotent.
 */

/** The app's id for its install: 1–128 of `A-Z a-z 0-9 _ . : -`. */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$';
/** A push token as the platform gives it (APNs: hex; FCM: its registration token). */
export const PUSH_TOKEN_PATTERN = '^[A-Za-z0-9_.:-]{1,4096}$';
/** An APNs device token: hex, 64 characters today (Apple may lengthen it). */
export const APNS_TOKEN_PATTERN = '^[0-9A-Fa-f]{64,200}$';

const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN });
export const PushPlatform = Type.Union([Type.Literal('apns'), Type.Literal('fcm')]);

/** A registered device. */
export const Device = Type.Object({
  id: DeviceId,
  platform: PushPlatform,
  token: Type.String(),
  /** The app's bundle id (APNs topic) or Android package, as registered; null if not given. */
  appId: Type.Union([Type.String(), Type.Null()]),
  /** BCP 47 language tag the app runs in; null if not given. */
  locale: Type.Union([Type.String(), Type.Null()]),
  /** ms since the epoch: first registered. */
  createdAt: Type.Number(),
  /** ms since the epoch: last registered or refreshed. */
  updatedAt: Type.Number(),
});
export type DeviceView = Static<typeof Device>;

export const DevicesMethods = {
  /**
   * Registers the device's push token, or refreshes it (same device id: the
   * token, app id and locale are replaced). An APNs token is hex (64–200
   * characters; stored lower-cased). The same token held by another user,
   * or by another device id, leaves them. A user keeps at most
   * `PUSH_MAX_DEVICES` devices: one more drops the least recently refreshed.
   * `PUT /v1/devices/{id}`.
   */
  'devices.register': {
    params: Type.Object(
      {
        id: DeviceId,
        platform: PushPlatform,
        token: Type.String({ pattern: PUSH_TOKEN_PATTERN }),
        appId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,255}$' })),
        locale: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,8}([_-][A-Za-z0-9]{1,8}){0,4}$' })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ device: Device }),
    idempotent: true,
  },
  /** The caller's devices, most recently refreshed first. `GET /v1/devices`. */
  'devices.list': {
    params: Type.Object({}, { additionalProperties: false }),
    result: Type.Object({ items: Type.Array(Device) }),
    idempotent: true,
  },
  /**
   * Unregisters the device (logout on that phone): no push reaches it any
   * more, pending ones included. `removed` is false when it was not
   * registered (a retry). `DELETE /v1/devices/{id}`.
   */
  'devices.remove': {
    params: Type.Object({ id: DeviceId }, { additionalProperties: false }),
    result: Type.Object({ id: DeviceId, removed: Type.Boolean() }),
    idempotent: true,
  },
} as const;
