import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The SDK ships ESM with type declarations and no Node-only imports, so
// browsers and React Native can load it. This builds the SDK and the protocol
// package it depends on exactly as `npm run build` does (into a temporary
// directory) and reads every import of the output.
const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const out = mkdtempSync(join(tmpdir(), 'shutter-sdk-build-'));
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/** Packages the browser build may import besides its own files. */
const allowed = ['@shutter/protocol', 'msgpackr', '@sinclair/typebox'];

function build(pkg: string): string {
  const dir = join(out, pkg);
  execFileSync(process.execPath, [tsc, '-p', join(root, pkg, 'tsconfig.json'), '--outDir', dir], {
    stdio: 'pipe',
  });
  return dir;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
}

/** Every module specifier in static imports, re-exports and dynamic imports. */
function specifiers(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const found = [
    ...src.matchAll(/\b(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
    ...src.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...src.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

function bare(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the SDK browser build', () => {
  it('is ESM with declarations, and neither it nor the protocol entry imports a Node built-in', () => {
    const sdk = build('client-sdk');
    const protocol = build('protocol');
    expect(existsSync(join(sdk, 'index.js'))).toBe(true);
    expect(existsSync(join(sdk, 'index.d.ts'))).toBe(true);
    expect(JSON.parse(readFileSync(join(root, 'client-sdk/package.json'), 'utf8')).type).toBe('module');

    const files = [...jsFiles(sdk), ...jsFiles(protocol)];
    expect(files.length).toBeGreaterThan(10);
    const offending: string[] = [];
    let imports = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, `${f} is CommonJS`).not.toMatch(/\bmodule\.exports\b|\bexports\.\w+\s*=/);
      for (const spec of specifiers(f)) {
        imports++;
        if (spec.startsWith('.')) continue;
        if (builtins.has(spec) || builtins.has(bare(spec)) || !allowed.includes(bare(spec)))
          offending.push(`${f.slice(out.length)}: ${spec}`);
      }
    }
    expect(imports).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  }, 120_000);
});
