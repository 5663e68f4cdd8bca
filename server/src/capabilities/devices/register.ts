import { APNS_TOKEN_PATTERN, type DeviceView, type MethodParams, ShutterError } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { forgetDevice, upsertDevice } from './device-rows.js';
import { claimToken, releaseToken } from './token-claims.js';

const APNS_TOKEN = new RegExp(APNS_TOKEN_PATTERN);

/**
 * Registers (or refreshes) a device of `userId`. The token is claimed first,
 * and its previous holder (another user on a shared phone, or this user's
 * same install under an older device id) loses it before the device is
 * written: a failure between the steps leaves the token with nobody until
 * the app registers again (it got no answer), never with two users. Tokens
 * that left the user's devices (a refreshed token, an evicted device)
 * release their claims last.
 */
export async function registerDevice(
  ports: Pick<CapabilityPorts, 'db' | 'config'>,
  userId: string,
  p: MethodParams<'devices.register'>,
): Promise<DeviceView> {
  let token = p.token;
  if (p.platform === 'apns') {
    if (!APNS_TOKEN.test(token))
      throw new ShutterError('bad_request', 'an APNs token is 64 to 200 hexadecimal characters');
    token = token.toLowerCase();
  }
  const prev = await claimToken(ports.db, token, userId, p.id);
  if (prev) await forgetDevice(ports.db, prev.userId, prev.deviceId, token);
  const { device, left } = await upsertDevice(
    ports.db.forId(userId),
    userId,
    { deviceId: p.id, platform: p.platform, token, appId: p.appId ?? null, locale: p.locale ?? null },
    ports.config.push.maxDevices,
  );
  for (const l of left) if (l.token !== token) await releaseToken(ports.db, l.token, userId, l.deviceId);
  return device;
}
