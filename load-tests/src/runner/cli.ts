import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './cli-args.js';
import { htmlReport } from './report/html.js';
import { textReport } from './report/text.js';
import { run } from './run.js';

/**
 * `npm run load -- <scenario> [options]`. Exit code as k6: 0 all thresholds
 * passed, 99 a threshold failed, 1 the run itself failed (bad options, a
 * node that did not start, a worker that died).
 */
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const resultsDir = resolve(a.out ?? join(repoRoot, 'load-tests/results'));
  const result = await run({
    scenario: a.name,
    params: a.params,
    smoke: a.smoke,
    url: a.url,
    secret: a.secret,
    adminToken: a.adminToken,
    workers: a.workers,
    executor: a.executor,
    extraThresholds: a.extraThresholds,
    maxSeconds: a.maxSeconds,
    repoRoot,
    resultsDir,
    databaseUrl: a.databaseUrl,
    redisUrl: a.redisUrl,
    natsUrl: a.natsUrl,
    nodes: a.nodes,
    quiet: a.quiet,
    command: `npm run load -- ${process.argv.slice(2).join(' ')}`,
  });
  mkdirSync(resultsDir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const base = join(resultsDir, `${result.scenario}${result.smoke ? '-smoke' : ''}-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.html`, htmlReport(result));
  process.stdout.write(textReport(result));
  const code = result.runError ? 1 : result.ok ? 0 : 99;
  // Exit once the report is out: a finished run leaves nothing behind worth waiting for.
  process.stdout.write(`  reports: ${base}.json, ${base}.html\n`, () => process.exit(code));
}

main().catch((e: unknown) => {
  process.stderr.write(`load: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
