import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCode } from './close-codes.js';
import { ErrorDescriptions } from './error-descriptions.js';
import { ErrorCodes } from './errors.js';

const read = (path: string) => readFileSync(new URL(`../../docs/${path}`, import.meta.url), 'utf8');
const protocolDoc = read('protocol.md');
const errorsDoc = read('errors.md');

/** A section of a Markdown document: its heading line up to the next heading of the same or a higher level. */
function section(doc: string, title: string): string {
  const lines = doc.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) throw new Error(`no section "${title}"`);
  const level = title.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** Table rows whose first cell is `code`, split into trimmed cells. */
function rows(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([a-z_]+)`\s*\|/.exec(line);
    if (m)
      out.set(
        m[1]!,
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
  }
  return out;
}

const errorEntries = Object.entries(ErrorCodes);

describe('docs/protocol.md lists every code', () => {
  const table = rows(section(protocolDoc, '### 9.3 Error codes'));

  it.each(errorEntries)('error code %s, with its retryable flag', (code, { retryable }) => {
    expect(table.get(code)?.[1]).toBe(retryable ? 'yes' : 'no');
  });

  it('lists no error code that does not exist', () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  it.each(Object.entries(CloseCode))('close code %s, with its number and action', (name, {
    code,
    action,
  }) => {
    const closeRows = section(protocolDoc, '### 10.1 Codes, reasons and actions')
      .split('\n')
      .map((l) => l.split('|').map((c) => c.trim()))
      .filter((cells) => cells[1] === String(code));
    expect(closeRows, `one row for ${code} in section 10.1`).toHaveLength(1);
    expect(closeRows[0]!.slice(1, 4)).toEqual([String(code), `\`${name}\``, action]);
  });
});

describe('docs/errors.md, section "Wire error codes"', () => {
  const table = rows(section(errorsDoc, '## Wire error codes'));

  it.each(errorEntries)('lists %s with its retryable flag and description', (code, { retryable }) => {
    const description = ErrorDescriptions[code as keyof typeof ErrorDescriptions];
    const row = table.get(code);
    expect(row, `a row for ${code}`).toBeDefined();
    expect(row![1]).toBe(retryable ? 'yes' : 'no');
    expect(row![2]).toBe(description);
  });

  it('lists no wire code that does not exist', () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(ErrorCodes).sort());
  });
});
