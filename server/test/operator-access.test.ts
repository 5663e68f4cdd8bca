import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { type ShutterNode, startNode } from '../src/node.js';
import { PgSql } from '../src/sql/index.js';
import { freePort } from './helpers/node-process.js';
import { postgresUrl, uniqueName } from './services.js';

// Issue 7, item 3: the operator endpoints (admin API, /metrics, dev tokens)
// of a node deployed the way people do deploy it: behind a reverse proxy on
// the same host (every caller is loopback), with NODE_ENV=production, or with
// a real AUTH_JWT_SECRET and NODE_ENV forgotten.

const SECRET = 'operator-access-test-secret-0123456789abcdef';
const ADMIN = 'admin-token-of-real-length-0123456789abcdef';
const METRICS = 'metrics-token-of-real-length-0123456789abcd';

interface Started {
  node: ShutterNode;
  /** Every log line the node wrote, parsed. */
  logs: Record<string, unknown>[];
}

const started: { node: ShutterNode; ns: string }[] = [];

async function start(env: Record<string, string>): Promise<Started> {
  const ns = uniqueName('op').toLowerCase().slice(0, 32);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({
    DATABASE_URL: postgresUrl,
    NAMESPACE: ns,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'shutter-op-')),
    ...env,
  });
  const node = await startNode(config, { logger: pino({ level: 'info' }, sink) });
  started.push({ node, ns });
  return { node, logs };
}

afterEach(async () => {
  const admin = new PgSql(postgresUrl, 'public', 1);
  for (const { node, ns } of started.splice(0)) {
    await node.shutdown();
    await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
  }
  await admin.close();
});

async function call(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; code: string | undefined; text: string }> {
  const r = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: r.status, code, text };
}

const publish = (node: ShutterNode, headers: Record<string, string> = {}) =>
  call(`${node.url}/v1/admin/publish`, 'POST', headers, { stream: 'topic:op', data: 1 });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('the admin API in production', () => {
  it('is off without ADMIN_TOKEN, even for a loopback caller (a proxy on the same host)', async () => {
    const { node, logs } = await start({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET });
    const r = await publish(node);
    expect([r.status, r.code]).toEqual([404, 'not_found']);
    expect(logs.some((l) => l.level === 40 && /admin API is off/.test(String(l.msg)))).toBe(true);
  });

  it('answers only the ADMIN_TOKEN bearer when it is set', async () => {
    const { node } = await start({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN });
    expect((await publish(node)).status).toBe(401);
    expect((await publish(node, bearer(`${ADMIN}x`))).status).toBe(401);
    expect((await publish(node, bearer(ADMIN.slice(1)))).status).toBe(401);
    expect((await publish(node, bearer(ADMIN))).status).toBe(200);
  });
});

describe('a node with a real AUTH_JWT_SECRET and NODE_ENV unset', () => {
  it('mints no development tokens and keeps the admin API off without ADMIN_TOKEN', async () => {
    const { node, logs } = await start({ AUTH_JWT_SECRET: SECRET });
    const r = await call(`${node.url}/v1/dev/token`, 'POST', {}, { user: 'mallory', ttlSeconds: 604_800 });
    expect([r.status, r.code]).toEqual([404, 'not_found']);
    expect(node.minter).toBeUndefined();
    expect((await publish(node)).status).toBe(404);
    expect(logs.some((l) => /development tokens/i.test(String(l.msg)))).toBe(false);
  });
});

describe.each(['ws', 'uws'])('a node with development tokens on (%s)', (transport) => {
  it('says so at warn level when it starts, naming the endpoint and how to turn them off', async () => {
    const { node, logs } = await start({ TRANSPORT: transport });
    const r = await call(`${node.url}/v1/dev/token`, 'POST', {}, { user: 'alice' });
    expect(r.status).toBe(200);
    const warning = logs.find((l) => l.level === 40 && /development tokens are on/i.test(String(l.msg)));
    expect(warning?.msg).toMatch(/POST \/v1\/dev\/token/);
    expect(warning?.msg).toMatch(/AUTH_JWT_SECRET/);
    // Outside production the admin API still answers loopback callers without a token.
    expect((await publish(node)).status).toBe(200);
    expect((await call(`${node.url}/metrics`, 'GET')).status).toBe(200);
  });
});

describe('/metrics access', () => {
  it('is open on the main port in development', async () => {
    const { node } = await start({});
    const r = await call(`${node.url}/metrics`, 'GET');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^shutter_gateway_connections/m);
  });

  it('needs the METRICS_TOKEN bearer when it is set', async () => {
    const { node } = await start({ METRICS_TOKEN: METRICS });
    expect((await call(`${node.url}/metrics`, 'GET')).code).toBe('auth_failed');
    expect((await call(`${node.url}/metrics`, 'GET', bearer('nope'))).status).toBe(401);
    const ok = await call(`${node.url}/metrics`, 'GET', bearer(METRICS));
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/^shutter_gateway_connections/m);
  });

  it('is off on the main port in production without METRICS_TOKEN or METRICS_LISTEN, and says so', async () => {
    const { node, logs } = await start({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET });
    expect((await call(`${node.url}/metrics`, 'GET')).status).toBe(404);
    expect(logs.some((l) => l.level === 40 && /\/metrics is off/.test(String(l.msg)))).toBe(true);
  });

  it('with METRICS_LISTEN is served on that address only, not on the public port', async () => {
    const port = await freePort();
    const { node } = await start({
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: SECRET,
      METRICS_LISTEN: `127.0.0.1:${port}`,
    });
    expect((await call(`${node.url}/metrics`, 'GET')).status).toBe(404);
    const r = await call(`http://127.0.0.1:${port}/metrics`, 'GET');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^shutter_gateway_connections/m);
    expect((await call(`http://127.0.0.1:${port}/v1/dev/token`, 'POST', {}, { user: 'x' })).status).toBe(404);
    await node.shutdown();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
