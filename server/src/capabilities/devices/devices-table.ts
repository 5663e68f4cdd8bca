import type { Migration } from '../../sql/sql.js';

/**
 * The tables of devices. `devices`: a user's devices and their push tokens,
 * in the user's database, keyed by the app's own id per install.
 * `push_tokens`: who holds each token now (one user and device at a time),
 * in the database of the token's hash (`db.forKey(token)`), so a token
 * registered by another user, on another shard, is found and leaves the
 * previous holder.
 */
export const deviceMigrations: Migration[] = [
  {
    id: 'devices_001_devices',
    sql: `CREATE TABLE devices (
      user_id uuid NOT NULL,
      device_id text NOT NULL,
      platform text NOT NULL CHECK (platform IN ('apns', 'fcm')),
      token text NOT NULL,
      app_id text,
      locale text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, device_id)
    )`,
  },
  {
    id: 'devices_002_push_tokens',
    sql: `CREATE TABLE push_tokens (
      token text PRIMARY KEY,
      user_id uuid NOT NULL,
      device_id text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  },
];
