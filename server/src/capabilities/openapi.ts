import { ErrorCodes, PROTOCOL_VERSION } from '@shutter/protocol';
import type { HttpRouter } from '../http/router.js';
import type { AnyOperation, Capability } from './operation.js';
import type { OperationRegistry } from './registry.js';

export const OPENAPI_PATH = '/v1/openapi.json';

type Json = Record<string, unknown>;

/** A TypeBox schema as plain JSON Schema (TypeBox's own markers are symbols, which JSON drops). */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ErrorCodes), description: 'docs/errors.md' },
        message: { type: 'string', description: 'for people; clients switch on code' },
        retryAfterMs: { type: 'integer', minimum: 0 },
        correlationId: { type: 'string', description: 'names an internal_error in the server log' },
        details: { type: 'object' },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document of every registered operation, built from the
 * same TypeBox schemas the registry validates with (OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, which TypeBox emits). `operationId` is the wire
 * method, so one name finds an operation on both front doors.
 */
export function openApiDocument(capabilities: readonly Capability[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const cap of capabilities) {
    for (const op of cap.operations) {
      const item = (paths[op.http.path] ??= {});
      item[op.http.method.toLowerCase()] = operationObject(cap.name, op);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Shutter HTTP API',
      version: `${PROTOCOL_VERSION}`,
      description:
        'Every operation here is also a WebSocket method of the same name (operationId); see docs/protocol.md.',
    },
    tags: capabilities.map((c) => ({ name: c.name, description: c.description })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: ERROR_SCHEMA },
      responses: {
        Error: {
          description:
            "A refusal or failure: `code` is one of docs/errors.md, the HTTP status is that code's.",
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

function operationObject(tag: string, op: AnyOperation): Json {
  const schema = plain(op.params);
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const inPath = [...op.http.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const parameters: Json[] = inPath.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: props[name],
  }));
  const rest = Object.keys(props).filter((k) => !inPath.includes(k));
  // A DELETE takes a body only when it has params beyond the path (account deletion's password).
  const hasBody = op.http.method === 'DELETE' ? rest.length > 0 : op.http.method !== 'GET';
  if (!hasBody)
    for (const name of rest)
      parameters.push({ name, in: 'query', required: required.has(name), schema: props[name] });
  if (!op.idempotent)
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: "Makes a retry apply once (the socket's ikey): a UUIDv7 or ULID.",
      schema: { type: 'string', minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' },
    });
  const out: Json = {
    operationId: op.method,
    summary: op.summary,
    tags: [tag],
    ...(op.auth === 'user' ? { security: [{ bearer: [] }] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: {
      [String(op.http.status ?? 200)]: {
        description: 'The result',
        content: { 'application/json': { schema: plain(op.result) } },
      },
      default: { $ref: '#/components/responses/Error' },
    },
  };
  if (hasBody) {
    const body: Json = {
      ...schema,
      properties: Object.fromEntries(rest.map((k) => [k, props[k]])),
      required: [...required].filter((k) => rest.includes(k)),
    };
    out.requestBody = {
      required: (body.required as string[]).length > 0,
      content: { 'application/json': { schema: body } },
    };
  }
  return out;
}

/** The document as `docs/openapi.json` holds it (`npm run docs:openapi` writes it; a test keeps it current). */
export function renderOpenApi(capabilities: readonly Capability[]): string {
  return `${JSON.stringify(openApiDocument(capabilities), null, 2)}\n`;
}

/** Serves the document at `GET /v1/openapi.json`, built once. */
export function mountOpenApi(router: HttpRouter, registry: OperationRegistry): void {
  const doc = openApiDocument(registry.capabilities);
  router.on('GET', OPENAPI_PATH, (_req, res) => res.json(200, doc));
}
