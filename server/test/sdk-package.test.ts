import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { startTestNode } from './helpers/test-node.js';

// The SDK as an app outside this repo gets it: `npm pack` (which builds it),
// the tarball installed into a scratch app with no registry and no monorepo
// at hand, its types checked strictly, and the README's SDK example run as
// written (only the port differs) against a real node.
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'shutter-sdk-pack-'));
const app = join(work, 'app');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

let tarball: string;
let node: ShutterNode;
let child: ChildProcess | undefined;

beforeAll(async () => {
  npm(['pack', '-w', '@shutter/client-sdk', '--pack-destination', work], root);
  const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toEqual(['shutter-client-sdk-0.1.0.tgz']);
  tarball = join(work, tgz[0]!);
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }),
  );
  // --offline: the package must need nothing from a registry.
  npm(['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  node = await startTestNode('ws');
}, 240_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await node?.shutdown();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed SDK', () => {
  it('holds ESM and declarations only, and installs with no dependencies', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/dist/protocol/wire.d.ts');
    expect(listing.filter((f) => !/^package\/(dist\/.+\.(js|d\.ts)|package\.json)$/.test(f))).toEqual([]);
    // Nothing but the SDK itself landed in node_modules.
    const modules = readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.'));
    expect(modules).toEqual(['@shutter']);
    expect(readdirSync(join(app, 'node_modules/@shutter'))).toEqual(['client-sdk']);
  });

  it('type-checks an app strictly (skipLibCheck off) with no TypeBox or protocol package installed', () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { createClient, ShutterError, UpgradeRefusedError, type DisconnectReason } from '@shutter/client-sdk';
declare const WS: new (url: string, protocols?: string | string[]) => WebSocket;
const client = createClient({ url: 'ws://127.0.0.1:1/ws', token: 't', WebSocket: WS });
export async function run(): Promise<number> {
  const echo = await client.call('system.echo', { text: 'hi' });
  const text: string = echo.text;
  const at: number = echo.at;
  // @ts-expect-error: params are typed from the protocol
  await client.call('system.echo', { txt: 'hi' });
  client.on('disconnected', (r: DisconnectReason) => {
    if (r.error instanceof UpgradeRefusedError) console.log(r.error.status);
    if (r.error instanceof ShutterError) console.log(r.error.code);
  });
  return text.length + at;
}
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2023', 'dom'],
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = () => execFileSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8', stdio: 'pipe' });
    expect(run).not.toThrow();
  }, 120_000);

  it("runs the README's SDK example as written against a real node: echo, a stream event, an upload", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /From JavaScript or TypeScript with the SDK[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(block).toContain('client.connect()');
    expect(block).toContain('127.0.0.1:8080');
    writeFileSync(join(app, 'app.mjs'), block!.replaceAll('127.0.0.1:8080', `127.0.0.1:${node.port}`));
    const photo = await sharp({
      create: { width: 320, height: 240, channels: 3, background: { r: 200, g: 40, b: 40 } },
    })
      .jpeg()
      .toBuffer();
    writeFileSync(join(app, 'photo.jpg'), photo);
    // The README says `npm install … ws`; here the repo's copy stands in for the registry.
    symlinkSync(join(root, 'node_modules/ws'), join(app, 'node_modules/ws'), 'dir');

    let out = '';
    let err = '';
    child = spawn(process.execPath, ['app.mjs'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => {
      out += String(d);
    });
    child.stderr!.on('data', (d) => {
      err += String(d);
    });
    const until = async (what: string, cond: () => boolean, ms = 20_000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end || child?.exitCode !== null)
          throw new Error(`${what}: not seen; stdout: ${out} stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until('the echo result', () => /text: 'hi'/.test(out));
    expect(out).toMatch(/\{ text: 'hi', node: '[^']+', at: \d+ \}/);
    // The example subscribes right after the echo; publish until its handler prints.
    await until('the stream event', () => {
      void node.hub.publish('topic:demo', { hello: 'world' });
      return out.includes("{ hello: 'world' }");
    });
    await until('the upload result', () => /mediaId: 'm_/.test(out));
    expect(out).toMatch(/status: '(processing|ready)'/);
    expect(out).toMatch(/bytesSent: \d+/); // onProgress printed
    expect(err).toBe('');
  }, 60_000);
});
