import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarios } from '../../scenarios/index.js';
import { generatedSections, readResults, replaceGenerated } from './page.js';

/**
 * `npm run load:page`: rewrites the generated part of docs/performance.md
 * from the runner's JSON summaries in load-tests/results/ (the latest full
 * run of each configuration of each scenario). `--check` writes nothing and
 * exits 1 when the page is not what the results say.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const pagePath = join(repoRoot, 'docs/performance.md');

export function renderPage(): { current: string; next: string } {
  const current = readFileSync(pagePath, 'utf8');
  const generated = generatedSections(
    Object.values(scenarios),
    readResults(join(repoRoot, 'load-tests/results')),
  );
  return { current, next: replaceGenerated(current, generated) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { current, next } = renderPage();
  if (process.argv.includes('--check')) {
    if (current !== next) {
      process.stderr.write(
        'docs/performance.md is not what load-tests/results/ says: run npm run load:page\n',
      );
      process.exit(1);
    }
  } else if (current !== next) {
    writeFileSync(pagePath, next);
    process.stdout.write('docs/performance.md: generated tables rewritten\n');
  } else process.stdout.write('docs/performance.md: already current\n');
}
