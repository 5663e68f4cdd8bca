import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { Codec, Frame } from './codec.js';
import {
  type ClientMessage,
  ClientMessageSchemas,
  type ServerMessage,
  ServerMessageSchemas,
} from './messages.js';
import { type MethodName, Methods } from './methods.js';
import { MalformedFrameError } from './strict-decode.js';
import { findUncleanText, UncleanTextError } from './text.js';

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

/** The frame's `id` when it is a usable request id (an integer in the RequestId range). */
export function requestIdOf(value: unknown): number | undefined {
  return typeof value === 'object' && value !== null ? usableId(value) : undefined;
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
    return withId({ ok: false, message: `unknown message type ${clip(JSON.stringify(String(t)), 40)}` }, id);
  }
  // Strings and keys were checked by the codec (`UncleanTextError`), so a path in a schema error is clean text.
  const check = checker(schemas[t] as TSchema);
  if (!check.Check(value)) return withId({ ok: false, message: `${t}${firstError(check, value)}` }, id);
  return { ok: true, value: value as T };
}

/** The first `max` UTF-16 units of `s`, never ending in half a surrogate pair. */
function clip(s: string, max: number): string {
  const c = s.slice(0, max);
  const last = c.charCodeAt(c.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? c.slice(0, -1) : c;
}

function withId<V extends { ok: false }>(v: V, id: number | undefined): V | (V & { id: number }) {
  return id === undefined ? v : { ...v, id };
}

/**
 * Validates a decoded inbound frame; the server runs this on every frame.
 * That its strings are clean text (well-formed Unicode without NUL,
 * `text.ts`) the codecs have already checked while decoding it.
 */
export function validateClientMessage(value: unknown): Validation<ClientMessage> {
  return validateEnvelope<ClientMessage>(value, ClientMessageSchemas);
}

/** What the server makes of one inbound frame. */
export type FrameReading =
  | { ok: true; value: ClientMessage }
  | {
      ok: false;
      /** `bad_frame`: not decodable with the codec; `bad_request`: decoded, but not a valid message. */
      code: 'bad_frame' | 'bad_request';
      message: string;
      /** The frame's request id, when it decoded and carried a usable one. */
      id?: number;
      /** What the frame decoded to, when it did. */
      decoded?: unknown;
    };

/**
 * Decodes and validates one inbound frame: the server's whole reading of a
 * frame before it acts on it. Undecodable (the codec throws) is `bad_frame`;
 * decoded but holding unclean text (`UncleanTextError`) or failing the
 * schema is `bad_request`, with the frame's id when it has a usable one.
 */
export function readClientFrame(codec: Codec, frame: Frame): FrameReading {
  let decoded: unknown;
  try {
    decoded = codec.decode(frame);
  } catch (e) {
    if (e instanceof UncleanTextError)
      return withId(
        { ok: false, code: 'bad_request' as const, message: e.message, decoded: e.value },
        requestIdOf(e.value),
      );
    // Only our own reasons are quoted: parsers' messages may echo the frame.
    const why = e instanceof MalformedFrameError ? ` (${e.message})` : '';
    return { ok: false, code: 'bad_frame', message: `the frame is not valid ${codec.name}${why}` };
  }
  const v = validateClientMessage(decoded);
  if (v.ok) return v;
  return withId({ ok: false, code: 'bad_request' as const, message: v.message, decoded }, v.id);
}

/** Validates a decoded server frame (used by the SDK in tests and by strict clients). */
export function validateServerMessage(value: unknown): Validation<ServerMessage> {
  return validateEnvelope<ServerMessage>(value, ServerMessageSchemas);
}

/** Validates `params` of a request against its method's schema. */
export function validateParams(method: MethodName, params: unknown): Validation<unknown> {
  const unclean = findUncleanText(params);
  if (unclean !== undefined) return { ok: false, message: `params${unclean}` };
  const check = checker(Methods[method].params);
  if (!check.Check(params)) return { ok: false, message: `params${firstError(check, params)}` };
  return { ok: true, value: params };
}

/** Validates any value against any schema (compiled once per schema), strings as in `validateClientMessage`. */
export function validate<T>(schema: TSchema, value: unknown): Validation<T> {
  const unclean = findUncleanText(value);
  if (unclean !== undefined) return { ok: false, message: unclean };
  const check = checker(schema);
  if (!check.Check(value)) return { ok: false, message: firstError(check, value) };
  return { ok: true, value: value as T };
}

/** A description of the first string or key in `value` that is not well-formed Unicode or holds NUL. */
export { findUncleanText, UncleanTextError } from './text.js';
