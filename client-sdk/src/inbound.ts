import type { ServerMessage } from '@shutter/protocol/wire';

/**
 * Checks the shape of a decoded server frame, field by field, by hand: the
 * SDK reads only these fields, and the TypeBox compiler that `validate.ts`
 * uses builds code with `new Function`, which strict CSPs forbid in browsers.
 */
export type Parsed = { ok: true; message: ServerMessage } | { ok: false; message: string };

type Rec = Record<string, unknown>;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): boolean => isInt(v) && v >= 1;

function shapeError(t: string, o: Rec): string | undefined {
  switch (t) {
    case 'welcome': {
      const l = o.limits;
      if (!isStr(o.session) || !isStr(o.user) || !isStr(o.node) || !isNum(o.expiresAt))
        return 'welcome fields';
      if (!isRec(l) || !isInt(l.maxFrameBytes) || !isInt(l.pingIntervalMs) || !isInt(l.idleTimeoutMs)) {
        return 'welcome limits';
      }
      return isInt(l.maxSubscriptions) ? undefined : 'welcome limits';
    }
    case 'res':
      return isId(o.id) ? undefined : 'res id';
    case 'err':
      if (o.id !== undefined && !isId(o.id)) return 'err id';
      if (!isStr(o.code) || !isStr(o.message)) return 'err code/message';
      if (o.retryAfterMs !== undefined && !(isInt(o.retryAfterMs) && o.retryAfterMs >= 0))
        return 'err retryAfterMs';
      return o.details === undefined || isRec(o.details) ? undefined : 'err details';
    case 'ev':
      if (!isStr(o.stream) || !isStr(o.epoch) || !isInt(o.seq) || o.seq < 0) return 'ev stream/epoch/seq';
      return isNum(o.ts) ? undefined : 'ev ts';
    case 'pong':
      return undefined;
    case 'notice':
      if (o.kind === 'token_expiring') return isNum(o.expiresAt) ? undefined : 'notice expiresAt';
      if (o.kind === 'going_away') return isInt(o.retryAfterMs) ? undefined : 'notice retryAfterMs';
      // Other kinds (`lease_expired`, and any this client does not know) pass: protocol.md §7.2.
      return undefined;
    default:
      return `unknown message type ${JSON.stringify(t).slice(0, 40)}`;
  }
}

export function parseServerMessage(value: unknown): Parsed {
  if (!isRec(value) || !isStr(value.t))
    return { ok: false, message: 'a frame must hold one object with a string `t`' };
  const problem = shapeError(value.t, value);
  if (problem !== undefined) return { ok: false, message: `malformed frame: ${problem}` };
  return { ok: true, message: value as unknown as ServerMessage };
}
