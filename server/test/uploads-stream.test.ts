import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSql } from '../src/sql/index.js';
import { startS3rver } from './s3rver.js';
import { postgresUrl, uniqueName } from './services.js';

const MiB = 1024 * 1024;
const SIZE = 500 * MiB;
const schema = uniqueName('stream');
let dir: string;
let s3: Awaited<ReturnType<typeof startS3rver>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shutter-stream-'));
  s3 = await startS3rver();
});

afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
  const admin = new PgSql(postgresUrl, 'public', 1);
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.close();
});

/** Starts the upload node in a child process (its RSS is then its own) and waits for its port. */
async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'server/test/fixtures/upload-node.ts'],
    {
      env: { ...process.env, PG_URL: postgresUrl, PG_SCHEMA: schema, DATA_DIR: dir, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

/**
 * PUTs `size` bytes to /v1/uploads/stream, made on the fly in 64 KiB chunks
 * (a counter stamped into one reused buffer), honouring backpressure: the
 * client never holds the body either. Resolves the answer and the SHA-256 sent.
 */
async function streamUpload(
  port: number,
  size: number,
): Promise<{ status: number; body: Record<string, unknown>; sent: string }> {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'PUT',
    path: '/v1/uploads/stream',
    headers: {
      authorization: 'Bearer big_user',
      'content-type': 'image/jpeg',
      'content-length': String(size),
    },
  });
  const answer = once(req, 'response');
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(64 * 1024, 0xab);
  for (let sent = 0, i = 0; sent < size; i++) {
    const c = Buffer.from(chunk.subarray(0, Math.min(chunk.length, size - sent)));
    c.writeUInt32BE(i, 0);
    hash.update(c);
    sent += c.length;
    if (!req.write(c)) await once(req, 'drain');
  }
  req.end();
  const [res] = (await answer) as [import('node:http').IncomingMessage];
  let text = '';
  for await (const part of res) text += String(part);
  return {
    status: res.statusCode ?? 0,
    body: JSON.parse(text) as Record<string, unknown>,
    sent: hash.digest('hex'),
  };
}

async function rss(port: number, path: string, method = 'GET'): Promise<{ baseline: number; peak: number }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return (await r.json()) as { baseline: number; peak: number };
}

describe.each(['local', 's3'] as const)('a 500 MB streaming upload on the %s store', (name) => {
  it("keeps the node's RSS growth under 64 MB and stores the exact bytes", { timeout: 150_000 }, async () => {
    const env: Record<string, string> =
      name === 's3' ? { S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket } : {};
    const { child, port } = await startChild(env);
    try {
      // Warm up (JIT, pools, first connections) before the baseline is taken.
      expect((await streamUpload(port, 16 * MiB)).status).toBe(201);
      await rss(port, '/__rss/reset', 'POST');
      const started = Date.now();
      const out = await streamUpload(port, SIZE);
      const seconds = (Date.now() - started) / 1000;
      expect(out.status).toBe(201);
      expect(out.body).toMatchObject({ sha256: out.sent, upload: { size: SIZE, status: 'completed' } });
      const { baseline, peak } = await rss(port, '/__rss');
      const growth = (peak - baseline) / MiB;
      console.log(
        `[uploads-stream] ${name}: 500 MB streamed in ${seconds.toFixed(1)} s (${(500 / seconds).toFixed(0)} MB/s); ` +
          `node RSS baseline ${(baseline / MiB).toFixed(1)} MB, peak ${(peak / MiB).toFixed(1)} MB, growth ${growth.toFixed(1)} MB (limit 64 MB)`,
      );
      expect(growth).toBeLessThan(64);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
