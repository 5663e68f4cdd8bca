import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { STREAM_NAME_PATTERN } from './streams.js';

/**
 * The envelope. One WebSocket frame carries exactly one message, an object
 * whose `t` names its type. Client → server: hello, auth, req, sub, unsub,
 * ping. Server → client: welcome, res, err, ev, pong, notice. Unknown fields
 * are refused (protocol v1 is strict; new fields come with a new version).
 */
const strict = { additionalProperties: false } as const;

/** Client-chosen request id, unique among that connection's requests in flight. */
export const RequestId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
export const StreamName = Type.String({ pattern: STREAM_NAME_PATTERN, maxLength: 200 });
export const Token = Type.String({ minLength: 1, maxLength: 8192 });
/** Idempotency key: a retried request carrying the same key is applied once. */
export const IdempotencyKey = Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });
export const Epoch = Type.String({ minLength: 1, maxLength: 64 });
export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const StreamPositionSchema = Type.Object({ epoch: Epoch, seq: Seq }, strict);

// ---- client → server -------------------------------------------------------

export const HelloMsg = Type.Object(
  {
    t: Type.Literal('hello'),
    v: Type.Literal(1),
    token: Token,
    client: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 64 })),
          version: Type.Optional(Type.String({ maxLength: 32 })),
          platform: Type.Optional(Type.String({ maxLength: 32 })),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const AuthMsg = Type.Object({ t: Type.Literal('auth'), id: RequestId, token: Token }, strict);

export const ReqMsg = Type.Object(
  {
    t: Type.Literal('req'),
    id: RequestId,
    method: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[a-z][a-zA-Z0-9]*(\\.[a-z][a-zA-Z0-9]*)+$',
    }),
    params: Type.Optional(Type.Unknown()),
    ikey: Type.Optional(IdempotencyKey),
  },
  strict,
);

export const SubMsg = Type.Object(
  { t: Type.Literal('sub'), id: RequestId, stream: StreamName, from: Type.Optional(StreamPositionSchema) },
  strict,
);

export const UnsubMsg = Type.Object({ t: Type.Literal('unsub'), id: RequestId, stream: StreamName }, strict);

export const PingMsg = Type.Object({ t: Type.Literal('ping') }, strict);

export const ClientMessageSchemas = {
  hello: HelloMsg,
  auth: AuthMsg,
  req: ReqMsg,
  sub: SubMsg,
  unsub: UnsubMsg,
  ping: PingMsg,
} as const;

export type HelloMessage = Static<typeof HelloMsg>;
export type AuthMessage = Static<typeof AuthMsg>;
export type ReqMessage = Static<typeof ReqMsg>;
export type SubMessage = Static<typeof SubMsg>;
export type UnsubMessage = Static<typeof UnsubMsg>;
export type PingMessage = Static<typeof PingMsg>;
export type ClientMessage = HelloMessage | AuthMessage | ReqMessage | SubMessage | UnsubMessage | PingMessage;
export type ClientMessageType = ClientMessage['t'];

// ---- server → client -------------------------------------------------------

export const Limits = Type.Object(
  {
    maxFrameBytes: Type.Integer(),
    /** The client sends `ping` when it has sent nothing for this long. */
    pingIntervalMs: Type.Integer(),
    /** The server closes with `idle_timeout` after this long without any inbound frame. */
    idleTimeoutMs: Type.Integer(),
    maxSubscriptions: Type.Integer(),
  },
  strict,
);

export const WelcomeMsg = Type.Object(
  {
    t: Type.Literal('welcome'),
    v: Type.Literal(1),
    session: Type.String(),
    user: Type.String(),
    /** Token expiry, milliseconds since the Unix epoch. */
    expiresAt: Type.Number(),
    node: Type.String(),
    limits: Limits,
  },
  strict,
);

export const ResMsg = Type.Object(
  { t: Type.Literal('res'), id: RequestId, result: Type.Optional(Type.Unknown()) },
  strict,
);

export const ErrMsg = Type.Object(
  {
    t: Type.Literal('err'),
    /** Absent when the error is about a frame that carried no usable id. */
    id: Type.Optional(RequestId),
    code: Type.String(),
    message: Type.String(),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    correlationId: Type.Optional(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  strict,
);

export const EvMsg = Type.Object(
  {
    t: Type.Literal('ev'),
    stream: StreamName,
    epoch: Epoch,
    seq: Seq,
    data: Type.Unknown(),
    /** Server time the event was published, ms since the Unix epoch. */
    ts: Type.Number(),
  },
  strict,
);

export const PongMsg = Type.Object({ t: Type.Literal('pong') }, strict);

export const NoticeMsg = Type.Union([
  Type.Object(
    { t: Type.Literal('notice'), kind: Type.Literal('token_expiring'), expiresAt: Type.Number() },
    strict,
  ),
  Type.Object(
    {
      t: Type.Literal('notice'),
      kind: Type.Literal('going_away'),
      retryAfterMs: Type.Integer({ minimum: 0 }),
    },
    strict,
  ),
  /** A leased subscription (`leaseMs` in its `sub` answer) was not renewed in time: it has ended. */
  Type.Object({ t: Type.Literal('notice'), kind: Type.Literal('lease_expired'), stream: StreamName }, strict),
]);

export type WelcomeMessage = Static<typeof WelcomeMsg>;
export type ResMessage = Static<typeof ResMsg>;
export type ErrMessage = Static<typeof ErrMsg>;
export type EvMessage = Static<typeof EvMsg>;
export type PongMessage = Static<typeof PongMsg>;
export type NoticeMessage = Static<typeof NoticeMsg>;
export type ServerMessage =
  | WelcomeMessage
  | ResMessage
  | ErrMessage
  | EvMessage
  | PongMessage
  | NoticeMessage;
export type ServerMessageType = ServerMessage['t'];
export type LimitsInfo = Static<typeof Limits>;

export const ServerMessageSchemas = {
  welcome: WelcomeMsg,
  res: ResMsg,
  err: ErrMsg,
  ev: EvMsg,
  pong: PongMsg,
  notice: NoticeMsg,
} as const satisfies Record<ServerMessageType, TSchema>;

// ---- results of the built-in client frames ---------------------------------

/**
 * Answer to `sub`: the stream's current epoch and last seq, and how the
 * requested `from` position was handled:
 * - `fresh`: no `from` was given; live events follow.
 * - `recovered`: every event after `from` follows as `ev` frames, then live ones.
 * - `refetch`: the history no longer reaches `from`, or the epoch changed;
 *   reload the state from the API. Live events after `seq` follow.
 *
 * `leaseMs` is set for a leased stream (a view, such as `post:<id>`): the
 * subscription lapses that long after this answer unless renewed by sending
 * `sub` again (answered with a `RenewResult`); when it lapses the server
 * sends a `lease_expired` notice.
 */
export const SubscribeResult = Type.Object(
  {
    epoch: Epoch,
    seq: Seq,
    status: Type.Union([Type.Literal('fresh'), Type.Literal('recovered'), Type.Literal('refetch')]),
    /** Number of missed events that follow when `status` is `recovered`. */
    missed: Type.Integer({ minimum: 0 }),
    leaseMs: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  strict,
);
export type SubscribeResult = Static<typeof SubscribeResult>;

/**
 * Answer to `sub` for a leased stream the connection holds already: the
 * lease runs anew for `leaseMs`; the subscription goes on untouched
 * (nothing replayed, the position unchanged).
 */
export const RenewResult = Type.Object(
  { status: Type.Literal('renewed'), leaseMs: Type.Integer({ minimum: 1 }) },
  strict,
);
export type RenewResult = Static<typeof RenewResult>;

export const AuthResult = Type.Object({ expiresAt: Type.Number() }, strict);
export type AuthResult = Static<typeof AuthResult>;
