import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The project's documentation points only at files a clone has: every
// relative Markdown link, and every `../…` path written in code spans,
// resolves to a file inside the repository (web links to specs are fine).
const root = fileURLToPath(new URL('../..', import.meta.url));
const docs = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.includes('node_modules/') && existsSync(join(root, f)));

function problemsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  const check = (target: string, how: string) => {
    const path = target.split('#')[0]!;
    if (!path) return;
    const abs = resolve(dirname(join(root, file)), path);
    const rel = relative(root, abs);
    if (rel.startsWith('..')) out.push(`${file}: ${how} ${target} leaves the repository`);
    else if (!existsSync(abs)) out.push(`${file}: ${how} ${target} does not exist`);
  };
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    check(target, 'link');
  }
  for (const m of text.matchAll(/`(\.\.\/[^`\s]+)`/g)) check(m[1]!, 'path');
  return out;
}

describe('documentation links', () => {
  it('README and docs link only to files inside the repository', () => {
    expect(docs).toContain('README.md');
    expect(docs).toContain('docs/architecture.md');
    expect(docs.flatMap(problemsOf)).toEqual([]);
  });
});
