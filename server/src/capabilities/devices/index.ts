import { isId } from '@shutter/protocol';
import { pushOutboxMigrations } from '../../push/outbox-table.js';
import { defineCapability, defineOperation } from '../operation.js';
import { listDevices, removeDevice } from './device-rows.js';
import { deviceMigrations } from './devices-table.js';
import { registerDevice } from './register.js';
import { releaseToken } from './token-claims.js';

/**
 * The `devices` capability: the caller's devices and their push tokens
 * (APNs or FCM), in the caller's database. Pushes themselves go through the
 * push outbox (`server/src/push/`, `ports.push`), whose table is declared
 * here so it sits beside the devices it joins. Schemas:
 * `protocol/src/methods/devices.ts`; docs/push.md.
 */
export const devices = defineCapability({
  name: 'devices',
  description:
    'Devices: push tokens (APNs, FCM) of the caller’s phones, where unseen notifications are pushed.',
  migrations: [...deviceMigrations, ...pushOutboxMigrations],
  operations: [
    defineOperation({
      method: 'devices.register',
      summary:
        "Registers or refreshes a device's push token (the device id is the app's own per install); the token leaves any other holder.",
      http: { method: 'PUT', path: '/v1/devices/{id}' },
      auth: 'user',
      handler: async (ctx, p) => ({ device: await registerDevice(ctx, ctx.caller.userId, p) }),
    }),
    defineOperation({
      method: 'devices.list',
      summary: "The caller's devices, most recently refreshed first.",
      http: { method: 'GET', path: '/v1/devices' },
      auth: 'user',
      handler: async (ctx) => ({
        items: await listDevices(ctx.db.forId(ctx.caller.userId), ctx.caller.userId),
      }),
    }),
    defineOperation({
      method: 'devices.remove',
      summary: 'Unregisters a device of the caller: no push reaches it any more, pending ones included.',
      http: { method: 'DELETE', path: '/v1/devices/{id}' },
      auth: 'user',
      handler: async (ctx, p) => {
        const me = ctx.caller.userId;
        const token = await removeDevice(ctx.db.forId(me), me, p.id);
        if (token !== undefined) await releaseToken(ctx.db, token, me, p.id);
        return { id: p.id, removed: token !== undefined };
      },
    }),
  ],
  /** Removes the account's devices, their token claims and every push row of the account. */
  async onUserDeleted(ports, userId) {
    if (!isId(userId)) return;
    const sql = ports.db.forId(userId);
    const gone = await sql.query<{ device_id: string; token: string }>(
      'DELETE FROM devices WHERE user_id = $1 RETURNING device_id, token',
      [userId],
    );
    await sql.query('DELETE FROM push_outbox WHERE user_id = $1', [userId]);
    for (const d of gone.rows) await releaseToken(ports.db, d.token, userId, d.device_id);
  },
});
