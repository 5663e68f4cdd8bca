import { streamKind } from '@shutter/protocol';
import type { LeaseHolder, StreamLease, SubscribeAuthorizer } from '../gateway/authorize.js';
import type { Capability, CapabilityPorts, StreamRule, StreamView } from './operation.js';

type Hook = ((ports: CapabilityPorts, view: StreamView) => void) | undefined;

/**
 * Turns a capability's stream rule into the gateway's terms: a plain rule
 * grants or refuses; a leased one grants under one `StreamLease` for its
 * kind, whose hooks call the capability's `onView`/`onLeave` with the
 * viewer named across the cluster (`<node id>/<session>`). A throwing hook
 * is logged: the gateway has answered the `sub` already.
 */
export function compileStreamRule(rule: StreamRule, ports: CapabilityPorts): SubscribeAuthorizer {
  if (typeof rule === 'function') return (userId, stream) => rule(ports, userId, stream);
  const ms = rule.leaseMs(ports.config);
  const call = (hook: Hook, stream: string, h: LeaseHolder) => {
    try {
      hook?.(ports, {
        stream,
        userId: h.userId,
        viewer: `${ports.nodeId}/${h.session}`,
        leaseMs: ms,
        push: (data) => h.push(stream, data),
      });
    } catch (err) {
      ports.log.error({ err, stream }, 'a stream lease hook failed');
    }
  };
  const lease: StreamLease = {
    ms,
    ...(rule.direct ? { direct: true } : {}),
    view: (stream, h) => call(rule.onView, stream, h),
    leave: (stream, h) => call(rule.onLeave, stream, h),
  };
  return async (userId, stream) => (await rule.authorize(ports, userId, stream)) && lease;
}

/**
 * The stream history's `historyOf`: the events kept for a stream, by its
 * kind (`streamKind`, as the registry's `authorizer` finds its rule), where a capability's leased rule
 * asks for fewer than the node's STREAM_HISTORY_SIZE.
 */
export function streamHistories(caps: readonly Capability[]): (stream: string) => number | undefined {
  const kept = new Map<string, number>();
  for (const cap of caps)
    for (const [kind, rule] of Object.entries(cap.streams ?? {}))
      if (typeof rule !== 'function' && rule.history !== undefined) kept.set(kind, rule.history);
  return (stream) => kept.get(streamKind(stream));
}
