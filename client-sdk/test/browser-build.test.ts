import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The SDK as it ships (client-sdk/scripts/build.mjs, which `npm pack` runs):
// one ESM file that imports nothing, declarations that name nothing outside
// the package, and a browser bundle small enough for a phone's web view.
const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'shutter-sdk-build-'));
/** Budget of the minified, gzipped browser bundle (SDK + protocol), in bytes. */
// 15 000 until the social core (session helper, typed api, ids); 16 000 until engagement (mobile
// lifecycle, leased views and watchPost, rate-class refusals, the inbox): docs/sdk.md says what it holds.
const GZIP_BUDGET = 18_000;

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'client-sdk/scripts/build.mjs'), '--out', out], {
    stdio: 'pipe',
  });
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every module specifier in static imports, re-exports, dynamic imports and requires. */
function specifiers(src: string): string[] {
  const found = [
    ...src.matchAll(/\b(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
    ...src.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...src.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

describe('the SDK package build', () => {
  it('is one ESM file that imports nothing (protocol bundled in), with self-contained declarations', () => {
    const js = readFileSync(join(out, 'index.js'), 'utf8');
    expect(js).toMatch(/^export \{/m);
    expect(js).not.toMatch(/\bmodule\.exports\b|\bexports\.\w+\s*=/);
    expect(specifiers(js)).toEqual([]);
    expect(js).toMatch(/UpgradeRefusedError = class extends ShutterError/);
    expect(js).toContain('shutter.v1.msgpack');

    const dts = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'));
    expect(dts).toContain('index.d.ts');
    expect(dts).toContain(join('protocol', 'wire.d.ts'));
    const outside: string[] = [];
    for (const f of dts) {
      const text = readFileSync(join(out, f), 'utf8');
      for (const spec of specifiers(text)) if (!spec.startsWith('.')) outside.push(`${f}: ${spec}`);
      for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g))
        if (!m[1]!.startsWith('.')) outside.push(`${f}: ${m[1]}`);
    }
    expect(outside).toEqual([]);
    // The typed methods survive as plain types.
    expect(readFileSync(join(out, 'protocol/methods.d.ts'), 'utf8')).toMatch(
      /"system\.echo": \{ params: \{ text: string; \}; result: \{ [^}]*text: string;/,
    );
  });

  it(`minified for browsers it is at most ${GZIP_BUDGET} bytes gzipped, and holds neither TypeBox nor msgpackr`, async () => {
    const result = await build({
      entryPoints: [join(out, 'index.js')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
    });
    const code = result.outputFiles[0]!.contents;
    const gzipped = gzipSync(code).length;
    console.info(`SDK browser bundle: ${code.length} bytes minified, ${gzipped} bytes gzipped`);
    expect(gzipped).toBeLessThanOrEqual(GZIP_BUDGET);

    // From the sources: which modules end up in the bundle at all.
    const fromSource = await build({
      entryPoints: [join(root, 'client-sdk/src/index.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['source'],
      write: false,
      metafile: true,
      absWorkingDir: root,
    });
    const inputs = Object.keys(fromSource.metafile.inputs);
    expect(inputs.filter((f) => f.includes('node_modules'))).toEqual([]);
    // The schema modules are type-only imports: erased, never bundled.
    for (const schemaModule of [
      'protocol/src/messages.ts',
      'protocol/src/methods.ts',
      'protocol/src/codec.ts',
    ]) {
      expect(inputs).not.toContain(schemaModule);
    }
    expect(inputs).toContain('protocol/src/wire-codec.ts');
  });

  it('the SDK sources import @shutter/protocol only through its schema-free entry', () => {
    const dir = join(root, 'client-sdk/src');
    const offending: string[] = [];
    for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f.startsWith('testing')) continue;
      for (const spec of specifiers(readFileSync(join(dir, f), 'utf8')))
        if (spec.startsWith('@shutter/protocol') && spec !== '@shutter/protocol/wire')
          offending.push(`${f}: ${spec}`);
    }
    expect(offending).toEqual([]);
    expect(existsSync(join(root, 'protocol/src/wire.ts'))).toBe(true);
  });
});
