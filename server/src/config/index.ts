import { hostname } from 'node:os';
import { parseShardRanges } from '../storage/shard-ranges.js';
import { actorSettings } from './actors.js';
import { authSettings } from './auth.js';
import { exploreSettings } from './explore.js';
import { feedSettings } from './feed.js';
import { gatewaySettings } from './gateway.js';
import { limitSettings } from './limits.js';
import { liveSettings } from './live.js';
import { mediaSettings } from './media.js';
import { nearbySettings } from './nearby.js';
import { notificationSettings } from './notifications.js';
import { presenceContradictions, presenceSettings } from './presence.js';
import { pushContradictions, pushSettings } from './push.js';
import { searchSettings } from './search.js';
import { serviceSettings } from './services.js';
import { ConfigError, parseSettings, type SettingsShape, type ValuesOf } from './settings.js';
import { trendingSettings } from './trending.js';

export { ConfigError } from './settings.js';

/** Every setting, by section. docs/configuration.md is generated from these (see `npm run docs:config`). */
export const allSettings = {
  gateway: gatewaySettings,
  services: serviceSettings,
  auth: authSettings,
  media: mediaSettings,
  actors: actorSettings,
  feed: feedSettings,
  limits: limitSettings,
  push: pushSettings,
  live: liveSettings,
  notifications: notificationSettings,
  presence: presenceSettings,
  nearby: nearbySettings,
  trending: trendingSettings,
  explore: exploreSettings,
  search: searchSettings,
} as const satisfies Record<string, SettingsShape>;

export type Config = { [K in keyof typeof allSettings]: ValuesOf<(typeof allSettings)[K]> };

/**
 * Reads the configuration once at start from the environment. Every bad value
 * and every contradiction is reported, each in one sentence; the process
 * stops before doing anything else.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const problems: string[] = [];
  const config = {} as Record<string, unknown>;
  for (const [section, shape] of Object.entries(allSettings)) {
    const r = parseSettings(shape as SettingsShape, env);
    config[section] = r.values;
    problems.push(...r.problems);
  }
  const c = config as Config;
  if (!c.gateway.nodeId)
    c.gateway.nodeId = `${hostname().slice(0, 36)}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_');
  problems.push(...contradictions(c));
  // Development tokens are never signed with a configured key (issue 7): a
  // key means a real deployment, where minting tokens for anyone must be off.
  // Production needs a key (above), so dev tokens are never on there.
  if (c.auth.jwtSecret || c.auth.jwtPublicKey || c.services.env === 'production') c.auth.devTokens = false;
  if (problems.length > 0) throw new ConfigError(problems);
  return c;
}

function contradictions(c: Config): string[] {
  const out: string[] = [];
  if (c.services.databaseShards) {
    const { ranges, problems } = parseShardRanges(c.services.databaseShards);
    out.push(...problems);
    const home = ranges[0]?.url;
    if (problems.length === 0 && c.services.databaseUrl && c.services.databaseUrl !== home)
      out.push(
        'DATABASE_URL, when DATABASE_SHARDS is set too, must be the database of logical shard 0 (or be left empty).',
      );
    if (problems.length === 0 && home && !c.services.databaseUrl) c.services.databaseUrl = home;
  }
  if (c.services.cluster) {
    const missing = [
      !c.services.natsUrl && 'NATS_URL',
      !c.services.databaseUrl && 'DATABASE_URL',
      !c.services.redisUrl && 'REDIS_URL',
    ].filter(Boolean);
    if (missing.length)
      out.push(
        `CLUSTER=true needs shared services, so ${missing.join(', ')} must be set (the embedded defaults live inside one process).`,
      );
  }
  if (c.services.cluster && !c.auth.jwtSecret && !c.auth.jwtPublicKey)
    out.push(
      'CLUSTER=true needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, the same on every node: without one each node makes up its own development secret and refuses the tokens of the others.',
    );
  if (c.services.env === 'production') {
    if (c.auth.adminToken && c.auth.adminToken.length < 32)
      out.push(
        'ADMIN_TOKEN must be at least 32 characters when NODE_ENV=production (or empty: the admin API is then off).',
      );
    if (c.auth.metricsToken && c.auth.metricsToken.length < 32)
      out.push('METRICS_TOKEN must be at least 32 characters when NODE_ENV=production (or empty).');
    if (c.gateway.exposeErrors) out.push('EXPOSE_INTERNAL_ERRORS must be false when NODE_ENV=production.');
    if (!c.auth.jwtSecret && !c.auth.jwtPublicKey)
      out.push('NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY to verify tokens.');
  }
  if (!c.auth.devTokens && !c.auth.jwtSecret && !c.auth.jwtPublicKey) {
    out.push(
      'With AUTH_DEV_TOKENS=false, set AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY so tokens can be verified.',
    );
  }
  if (c.auth.jwtSecret && c.auth.jwtPublicKey)
    out.push('Set only one of AUTH_JWT_SECRET and AUTH_JWT_PUBLIC_KEY.');
  if (c.gateway.idleTimeoutMs <= c.gateway.pingIntervalMs) {
    out.push(
      `IDLE_TIMEOUT_MS (${c.gateway.idleTimeoutMs}) must be greater than PING_INTERVAL_MS (${c.gateway.pingIntervalMs}), or idle clients are cut off between pings.`,
    );
  }
  if (c.actors.heartbeatMs * 2 > c.actors.leaseMs) {
    out.push(
      `CLUSTER_LEASE_MS (${c.actors.leaseMs}) must be at least twice CLUSTER_HEARTBEAT_MS (${c.actors.heartbeatMs}).`,
    );
  }
  if (c.gateway.connBurst < 1 || c.gateway.userBurst < 1) out.push('Rate limit bursts must be at least 1.');
  out.push(...pushContradictions(c.push));
  out.push(...presenceContradictions(c.presence));
  if (c.live.postViewLeaseMs >= c.actors.idleMs) {
    out.push(
      `POST_VIEW_LEASE_MS (${c.live.postViewLeaseMs}) must be less than ACTOR_IDLE_MS (${c.actors.idleMs}): a post actor would go idle between its viewers' renewals and forget them.`,
    );
  }
  if (c.nearby.viewLeaseMs >= c.actors.idleMs) {
    out.push(
      `NEARBY_VIEW_LEASE_MS (${c.nearby.viewLeaseMs}) must be less than ACTOR_IDLE_MS (${c.actors.idleMs}): a watcher of the nearby list would go idle between renewals and stop sending it.`,
    );
  }
  return out;
}
