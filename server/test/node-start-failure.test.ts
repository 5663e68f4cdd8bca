import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PgSql } from '../src/sql/index.js';
import { natsUrl, postgresUrl, redisUrl, uniqueName } from './services.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/failed-start.ts', import.meta.url));

describe('a start that fails half-way', () => {
  const ns = uniqueName('failstart').toLowerCase().slice(0, 32);
  afterAll(async () => {
    const admin = new PgSql(postgresUrl, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
    await admin.close();
  });

  it('closes what it opened: the process ends by itself, every service configured', async () => {
    // The port is taken, so the start fails at its last step (listen), after everything else opened.
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const env = {
      DATABASE_URL: postgresUrl,
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      CLUSTER: 'true',
      NAMESPACE: ns,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'shutter-failstart-')),
      NODE_ENV: 'test',
      AUTH_JWT_SECRET: 's'.repeat(32),
    };
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', fixture, JSON.stringify(env)],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // Generous: tsx start-up and the cluster join on a shared, loaded machine.
    const ended = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 30_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!ended) child.kill('SIGKILL');
    taken.close();
    expect(out).toMatch(/"event":"failed"/);
    expect(out).toMatch(/EADDRINUSE|listen|port/i);
    expect(ended, `the process still ran 30 s after its start failed:\n${out}`).toBe(true);
    expect(child.exitCode).toBe(0);
  });
});
