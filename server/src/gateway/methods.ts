import type { MethodName, MethodParams, MethodResult } from '@shutter/protocol';

/** What a request handler knows about its caller. */
export interface CallContext {
  userId: string;
  session: string;
  nodeId: string;
  /** The request's idempotency key, if the client sent one. */
  idempotencyKey: string | undefined;
}

export type MethodHandler<M extends MethodName> = (
  ctx: CallContext,
  params: MethodParams<M>,
) => Promise<MethodResult<M>>;

/** Every method's handler: the gateway refuses to start with one missing. */
export type MethodTable = { [M in MethodName]: MethodHandler<M> };
