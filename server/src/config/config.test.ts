import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from './docs.js';
import { ConfigError, loadConfig } from './index.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('config', () => {
  it('runs on the embedded defaults with nothing set', () => {
    const c = loadConfig({});
    expect(c.gateway.port).toBe(8080);
    expect(c.gateway.transport).toBe('ws');
    expect(c.services.natsUrl).toBe('');
    expect(c.gateway.nodeId).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it('names the setting and what it allows, one sentence per bad value', () => {
    expect(problems({ PORT: 'eighty' })).toEqual(['PORT must be an integer from 0 to 65535 (got "eighty").']);
    expect(problems({ TRANSPORT: 'tcp', NATS_URL: 'http://x' })).toEqual([
      'TRANSPORT must be one of ws, uws (got "tcp").',
      'NATS_URL must be empty, or a URL starting with nats:// or tls:// (got "http://x").',
    ]);
  });

  it('refuses contradictions at start', () => {
    expect(problems({ CLUSTER: 'true' })[0]).toMatch(
      /^CLUSTER=true needs shared services, so NATS_URL, DATABASE_URL, REDIS_URL must be set/,
    );
    expect(problems({ NODE_ENV: 'production' })).toContain(
      'NODE_ENV=production needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY to verify tokens.',
    );
    expect(problems({ IDLE_TIMEOUT_MS: '5000', PING_INTERVAL_MS: '5000' })[0]).toMatch(/IDLE_TIMEOUT_MS/);
  });

  it('CLUSTER=true needs a shared AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY (a development secret is per node)', () => {
    const services = {
      CLUSTER: 'true',
      NATS_URL: 'nats://127.0.0.1:4222',
      DATABASE_URL: 'postgres://127.0.0.1/test',
      REDIS_URL: 'redis://127.0.0.1:6379',
    };
    expect(problems(services)).toEqual([
      'CLUSTER=true needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, the same on every node: without one each node makes up its own development secret and refuses the tokens of the others.',
    ]);
    expect(problems({ ...services, AUTH_JWT_SECRET: 's'.repeat(32) })).toEqual([]);
  });

  it('turns development tokens off whenever a key is configured: they are never signed with it', () => {
    expect(loadConfig({}).auth.devTokens).toBe(true);
    expect(loadConfig({ AUTH_JWT_SECRET: 's'.repeat(32) }).auth.devTokens).toBe(false);
    expect(loadConfig({ AUTH_JWT_SECRET: 's'.repeat(32), AUTH_DEV_TOKENS: 'true' }).auth.devTokens).toBe(
      false,
    );
  });

  it('production: ADMIN_TOKEN and METRICS_TOKEN, when set, are at least 32 characters', () => {
    const prod = { NODE_ENV: 'production', AUTH_JWT_SECRET: 's'.repeat(32) };
    expect(problems(prod)).toEqual([]);
    expect(problems({ ...prod, ADMIN_TOKEN: 'short', METRICS_TOKEN: 'x'.repeat(31) })).toEqual([
      'ADMIN_TOKEN must be at least 32 characters when NODE_ENV=production (or empty: the admin API is then off).',
      'METRICS_TOKEN must be at least 32 characters when NODE_ENV=production (or empty).',
    ]);
    expect(problems({ ADMIN_TOKEN: 'short' })).toEqual([]);
    expect(problems({ METRICS_LISTEN: 'localhost' })[0]).toMatch(/^METRICS_LISTEN must be/);
  });

  it('docs/configuration.md is the generated one (run npm run docs:config)', () => {
    const file = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(file).toBe(renderConfigDocs());
  });
});
