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
      'AUTH_DEV_TOKENS must be false when NODE_ENV=production (dev tokens let anyone act as any user).',
    );
    expect(problems({ IDLE_TIMEOUT_MS: '5000', PING_INTERVAL_MS: '5000' })[0]).toMatch(/IDLE_TIMEOUT_MS/);
  });

  it('docs/configuration.md is the generated one (run npm run docs:config)', () => {
    const file = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(file).toBe(renderConfigDocs());
  });
});
