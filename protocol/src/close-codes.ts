/**
 * WebSocket close codes the server uses, and what a client does on each.
 * The close reason is `<name>` or `<name> retry_after_ms=<n>` (ASCII, ≤ 123 bytes).
 *
 * `action`:
 * - `resume`: reconnect at once (with jitter) and resume every subscription.
 * - `backoff`: reconnect with exponential backoff and full jitter (or after `retry_after_ms`).
 * - `reauth`: get a fresh token before reconnecting.
 * - `stop`: do not reconnect; the app must change something first.
 */
export const CloseCode = {
  normal: { code: 1000, action: 'stop' },
  going_away: { code: 4001, action: 'resume' },
  slow_consumer: { code: 4002, action: 'resume' },
  idle_timeout: { code: 4003, action: 'resume' },
  protocol_error: { code: 4400, action: 'backoff' },
  auth_failed: { code: 4401, action: 'reauth' },
  forbidden_origin: { code: 4403, action: 'stop' },
  auth_timeout: { code: 4408, action: 'backoff' },
  token_expired: { code: 4409, action: 'reauth' },
  frame_too_large: { code: 4413, action: 'backoff' },
  unsupported_protocol: { code: 4426, action: 'stop' },
  rate_limited: { code: 4429, action: 'backoff' },
  internal_error: { code: 4500, action: 'backoff' },
  over_capacity: { code: 4503, action: 'backoff' },
} as const;

export type CloseName = keyof typeof CloseCode;
export type CloseAction = (typeof CloseCode)[CloseName]['action'];

const byCode = new Map<number, CloseName>(
  Object.entries(CloseCode).map(([name, v]) => [v.code, name as CloseName]),
);

export function closeNameOf(code: number): CloseName | undefined {
  return byCode.get(code);
}

/** What a client should do after a close with this code; unknown codes back off. */
export function closeActionOf(code: number): CloseAction {
  const name = byCode.get(code);
  return name ? CloseCode[name].action : 'backoff';
}

export function formatCloseReason(name: CloseName, retryAfterMs?: number): string {
  return retryAfterMs === undefined
    ? name
    : `${name} retry_after_ms=${Math.max(0, Math.round(retryAfterMs))}`;
}

export function parseCloseReason(reason: string): { name: string; retryAfterMs?: number } {
  const [name = '', ...rest] = reason.trim().split(/\s+/);
  for (const part of rest) {
    const m = /^retry_after_ms=(\d{1,9})$/.exec(part);
    if (m) return { name, retryAfterMs: Number(m[1]) };
  }
  return { name };
}
