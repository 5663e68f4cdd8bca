import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import {
  type ClientMessage,
  ClientMessageSchemas,
  type ServerMessage,
  ServerMessageSchemas,
} from './messages.js';
import { type MethodName, Methods } from './methods.js';

export type Validation<T> =
  | { ok: true; value: T }
  | { ok: false; message: string /** request id, when the frame carried a usable one */; id?: number };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c;
}

function firstError(check: TypeCheck<TSchema>, value: unknown): string {
  const e = check.Errors(value).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'invalid value';
}

function usableId(value: object): number | undefined {
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 2_147_483_647 ? id : undefined;
}

function validateEnvelope<T>(value: unknown, schemas: Record<string, TSchema>): Validation<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'a frame must hold one object' };
  }
  const t = (value as { t?: unknown }).t;
  const id = usableId(value);
  if (typeof t !== 'string' || !Object.hasOwn(schemas, t)) {
    return withId(
      { ok: false, message: `unknown message type ${JSON.stringify(String(t)).slice(0, 40)}` },
      id,
    );
  }
  const check = checker(schemas[t] as TSchema);
  if (!check.Check(value)) return withId({ ok: false, message: `${t}${firstError(check, value)}` }, id);
  return { ok: true, value: value as T };
}

function withId<T>(v: { ok: false; message: string }, id: number | undefined): Validation<T> {
  return id === undefined ? v : { ...v, id };
}

/** Validates a decoded inbound frame; the server runs this on every frame. */
export function validateClientMessage(value: unknown): Validation<ClientMessage> {
  return validateEnvelope<ClientMessage>(value, ClientMessageSchemas);
}

/** Validates a decoded server frame (used by the SDK in tests and by strict clients). */
export function validateServerMessage(value: unknown): Validation<ServerMessage> {
  return validateEnvelope<ServerMessage>(value, ServerMessageSchemas);
}

/** Validates `params` of a request against its method's schema. */
export function validateParams(method: MethodName, params: unknown): Validation<unknown> {
  const check = checker(Methods[method].params);
  if (!check.Check(params)) return { ok: false, message: `params${firstError(check, params)}` };
  return { ok: true, value: params };
}

/** Validates any value against any schema (compiled once per schema). */
export function validate<T>(schema: TSchema, value: unknown): Validation<T> {
  const check = checker(schema);
  if (!check.Check(value)) return { ok: false, message: firstError(check, value) };
  return { ok: true, value: value as T };
}
