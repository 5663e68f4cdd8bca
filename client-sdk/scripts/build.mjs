#!/usr/bin/env node
/**
 * Builds the installable SDK: `npm run build -w @shutter/client-sdk` (and `npm pack`,
 * through `prepack`). The package has no run-time dependencies:
 *
 * - `dist/index.js`: one ESM file, the SDK with the schema-free part of
 *   `@shutter/protocol` (`@shutter/protocol/wire`) bundled in by esbuild;
 *   not minified (apps minify), platform-neutral (a Node built-in would
 *   fail the build).
 * - `dist/*.d.ts`: the SDK's declarations from tsc, their
 *   `@shutter/protocol/wire` imports pointed at `dist/protocol/`, which holds
 *   the declarations of that entry and the files it reaches. The message and
 *   method types there are written out as plain object types (TypeBox's
 *   `Static<…>` resolved by the type checker), so apps need no TypeBox.
 *
 * Usage: node client-sdk/scripts/build.mjs [--out <dir>]   (default client-sdk/dist)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const protocolSrc = resolve(sdkDir, '../protocol/src');
const outIndex = process.argv.indexOf('--out');
const out = resolve(outIndex > 0 ? process.argv[outIndex + 1] : join(sdkDir, 'dist'));
const WIRE = '@shutter/protocol/wire';

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// 1. The JavaScript: one ESM file with nothing left to import.
const js = await build({
  entryPoints: [join(sdkDir, 'src/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  conditions: ['source'],
  outfile: join(out, 'index.js'),
  legalComments: 'none',
  metafile: true,
  absWorkingDir: resolve(sdkDir, '..'),
  logLevel: 'error',
});
const bundled = Object.keys(js.metafile.inputs);
const foreign = bundled.filter((f) => !f.startsWith('client-sdk/src/') && !f.startsWith('protocol/src/'));
if (foreign.length > 0)
  throw new Error(`the SDK bundle must hold only SDK and protocol code, got ${foreign.join(', ')}`);

// 2. The SDK's declarations.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(
  process.execPath,
  [
    tsc,
    '-p',
    join(sdkDir, 'tsconfig.json'),
    '--emitDeclarationOnly',
    '--declarationMap',
    'false',
    '--sourceMap',
    'false',
    '--outDir',
    out,
  ],
  { stdio: 'inherit' },
);

// 3. Declarations of @shutter/protocol/wire and what it reaches, TypeBox-free.
const protoOut = join(out, 'protocol');
const flatFile = join(protocolSrc, '__flat_types__.ts');
const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  exactOptionalPropertyTypes: true,
  declaration: true,
  emitDeclarationOnly: true,
  skipLibCheck: true,
  rootDir: protocolSrc,
  outDir: protoOut,
  types: [],
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
};
const host = ts.createCompilerHost(options);
let flatSource = '';
const readFile = host.readFile.bind(host);
host.readFile = (f) => (resolve(f) === flatFile ? flatSource : readFile(f));
host.fileExists = (
  (exists) => (f) =>
    resolve(f) === flatFile || exists(f)
)(host.fileExists.bind(host));
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (f, v, onError, create) =>
  resolve(f) === flatFile
    ? ts.createSourceFile(f, flatSource, v, true)
    : getSourceFile(f, v, onError, create);

// First pass: which types does messages.ts export, which methods exist.
const probe = ts.createProgram([join(protocolSrc, 'wire.ts')], options, host);
const probeChecker = probe.getTypeChecker();
const moduleSymbol = (file) => probeChecker.getSymbolAtLocation(probe.getSourceFile(join(protocolSrc, file)));
const messageTypes = probeChecker
  .getExportsOfModule(moduleSymbol('messages.ts'))
  .filter((s) => s.flags & ts.SymbolFlags.TypeAlias)
  .map((s) => s.name);
const methodNameSym = probeChecker
  .getExportsOfModule(moduleSymbol('methods.ts'))
  .find((s) => s.name === 'MethodName');
const methodNameType = probeChecker.getDeclaredTypeOfSymbol(methodNameSym);
const methods = (methodNameType.isUnion() ? methodNameType.types : [methodNameType]).map((t) => t.value);

// Second pass: a virtual file names every type to write out, the checker prints each in full.
const lines = [
  "import type * as M from './messages.js';",
  "import type { MethodParams, MethodResult } from './methods.js';",
  ...messageTypes.map((n) => `export type F_${n} = M.${n};`),
  ...methods.flatMap((m, i) => [
    `export type P_${i} = MethodParams<${JSON.stringify(m)}>;`,
    `export type R_${i} = MethodResult<${JSON.stringify(m)}>;`,
  ]),
];
flatSource = lines.join('\n');
const program = ts.createProgram([join(protocolSrc, 'wire.ts'), flatFile], options, host);
const checker = program.getTypeChecker();
const flat = checker.getSymbolAtLocation(program.getSourceFile(flatFile));
const flags =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.InTypeAlias |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;
const printed = new Map(
  checker
    .getExportsOfModule(flat)
    .map((s) => [s.name, checker.typeToString(checker.getDeclaredTypeOfSymbol(s), undefined, flags)]),
);
const diagnostics = ts.getPreEmitDiagnostics(program);
if (diagnostics.length > 0) throw new Error(ts.formatDiagnostics(diagnostics, host));
program.emit();
rmSync(join(protoOut, '__flat_types__.d.ts'), { force: true });

const header = '// Written by client-sdk/scripts/build.mjs: the protocol types as plain object types.\n';
writeFileSync(
  join(protoOut, 'messages.d.ts'),
  header + messageTypes.map((n) => `export type ${n} = ${printed.get(`F_${n}`)};\n`).join(''),
);
const methodLines = methods.map(
  (m, i) =>
    `  ${JSON.stringify(m)}: { params: ${printed.get(`P_${i}`)}; result: ${printed.get(`R_${i}`)} };\n`,
);
writeFileSync(
  join(protoOut, 'methods.d.ts'),
  [
    header,
    `export interface MethodMap {\n${methodLines.join('')}}\n`,
    'export type MethodName = keyof MethodMap;\n',
    "export type MethodParams<M extends MethodName> = MethodMap[M]['params'];\n",
    "export type MethodResult<M extends MethodName> = MethodMap[M]['result'];\n",
  ].join(''),
);

// Keep only what wire.d.ts reaches: the written-out files no longer import
// the schema files behind them (e.g. methods/*.d.ts).
const reached = new Set();
const visit = (file) => {
  if (reached.has(file)) return;
  reached.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(/\bfrom\s+['"](\.[^'"]+)\.js['"]/g))
    visit(resolve(dirname(file), `${m[1]}.d.ts`));
};
visit(join(protoOut, 'wire.d.ts'));
for (const f of readdirSync(protoOut, { recursive: true, encoding: 'utf8' })) {
  const path = join(protoOut, f);
  if (f.endsWith('.d.ts') && !reached.has(path)) rmSync(path);
}
for (const f of readdirSync(protoOut, { recursive: true, encoding: 'utf8' }).reverse()) {
  const path = join(protoOut, f);
  if (!f.endsWith('.ts') && readdirSync(path).length === 0) rmSync(path, { recursive: true });
}

// 4. Point the SDK's declarations at the copy, and check nothing outside the package is named.
for (const f of readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts'))) {
  const path = join(out, f);
  let text = readFileSync(path, 'utf8');
  if (!f.startsWith('protocol')) {
    let rel = relative(dirname(path), join(protoOut, 'wire.js'));
    if (!rel.startsWith('.')) rel = `./${rel}`;
    text = text.replaceAll(`'${WIRE}'`, `'${rel}'`).replaceAll(`"${WIRE}"`, `"${rel}"`);
    writeFileSync(path, text);
  }
  for (const m of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) throw new Error(`${f} imports ${spec}: the package must be self-contained`);
  }
}
console.log(
  `built ${relative(process.cwd(), out) || '.'}: index.js (${bundled.length} modules) and declarations`,
);
