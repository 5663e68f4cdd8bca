import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { capabilities } from './index.js';
import { openApiDocument } from './openapi.js';

describe('the OpenAPI document', () => {
  const doc = openApiDocument(capabilities) as {
    paths: Record<
      string,
      Record<string, { operationId: string; parameters?: { name: string; in: string }[] }>
    >;
  };

  it('is valid OpenAPI 3.1 (the official schema, every $ref resolved)', async () => {
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('has one operation per registered route, path parameters declared', () => {
    const ops = capabilities.flatMap((c) => c.operations);
    for (const op of ops) {
      const o = doc.paths[op.http.path]?.[op.http.method.toLowerCase()];
      expect(o?.operationId).toBe(op.method);
      for (const [, name] of op.http.path.matchAll(/\{([^}]+)\}/g))
        expect(o?.parameters).toContainEqual(expect.objectContaining({ name, in: 'path' }));
    }
    expect(Object.values(doc.paths).flatMap((p) => Object.keys(p))).toHaveLength(ops.length);
  });

  it('docs/openapi.json is the generated one (run npm run docs:openapi)', () => {
    const file = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'));
    expect(file).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});
