import { int, oneOf, str, url } from './settings.js';

/** Pushes to phones (issue 10 §5): the provider, and the outbox that retries towards it. */
export const pushSettings = {
  provider: oneOf(
    'PUSH_PROVIDER',
    'log',
    ['log', 'http'] as const,
    'Where pushes go. log: each push is written to the log (and counted as sent). http: POSTed as JSON (the APNs- or FCM-shaped message, docs/push.md) to PUSH_HTTP_URL, e.g. a relay to APNs and FCM.',
  ),
  httpUrl: url(
    'PUSH_HTTP_URL',
    ['http:', 'https:'],
    'With PUSH_PROVIDER=http: the URL each push is POSTed to.',
  ),
  httpToken: str(
    'PUSH_HTTP_TOKEN',
    '',
    'With PUSH_PROVIDER=http: sent as Authorization: Bearer <token> with every push; empty sends none.',
  ),
  httpTimeoutMs: int(
    'PUSH_HTTP_TIMEOUT_MS',
    10_000,
    100,
    120_000,
    'With PUSH_PROVIDER=http: a push not answered within this is retried later.',
  ),
  maxAttempts: int(
    'PUSH_MAX_ATTEMPTS',
    8,
    1,
    100,
    'Attempts of one push to one device before it is dead (kept for operators: GET /v1/admin/push/dead).',
  ),
  backoffBaseMs: int(
    'PUSH_BACKOFF_BASE_MS',
    1000,
    10,
    3_600_000,
    'Wait before the second attempt; each later one doubles it (up to PUSH_BACKOFF_MAX_MS), with jitter: a wait of d is taken at random in [d/2, d]. A Retry-After from the provider is honoured when longer (up to an hour).',
  ),
  backoffMaxMs: int('PUSH_BACKOFF_MAX_MS', 300_000, 10, 86_400_000, 'Longest wait between two attempts.'),
  leaseMs: int(
    'PUSH_LEASE_MS',
    60_000,
    1000,
    3_600_000,
    'How long a node holds a push it is sending; a node that dies while sending leaves it to another after this. Must exceed PUSH_HTTP_TIMEOUT_MS.',
  ),
  pollMs: int(
    'PUSH_POLL_MS',
    1000,
    10,
    60_000,
    'How often each node looks for due pushes in every database (pushes enqueued on the node itself, and its own retries, are sent without waiting for this).',
  ),
  concurrency: int('PUSH_CONCURRENCY', 32, 1, 1000, 'Pushes one node sends at once.'),
  maxDevices: int(
    'PUSH_MAX_DEVICES',
    10,
    1,
    100,
    'Devices one user keeps; registering one more drops the least recently refreshed.',
  ),
  keepHours: int(
    'PUSH_KEEP_HOURS',
    24,
    1,
    24 * 365,
    'Sent and dropped pushes are kept this long (a notification enqueued again within it is not pushed twice), then deleted.',
  ),
  keepDeadHours: int(
    'PUSH_KEEP_DEAD_HOURS',
    168,
    1,
    24 * 365,
    'Dead pushes are kept this long, then deleted.',
  ),
};

/** Settings that contradict each other, one sentence each. */
export function pushContradictions(p: {
  provider: string;
  httpUrl: string;
  httpTimeoutMs: number;
  leaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}): string[] {
  const out: string[] = [];
  if (p.provider === 'http' && !p.httpUrl) out.push('PUSH_PROVIDER=http needs PUSH_HTTP_URL.');
  if (p.leaseMs <= p.httpTimeoutMs)
    out.push(
      `PUSH_LEASE_MS (${p.leaseMs}) must exceed PUSH_HTTP_TIMEOUT_MS (${p.httpTimeoutMs}), or a push still being sent could be sent again by another node.`,
    );
  if (p.backoffMaxMs < p.backoffBaseMs)
    out.push(
      `PUSH_BACKOFF_MAX_MS (${p.backoffMaxMs}) must be at least PUSH_BACKOFF_BASE_MS (${p.backoffBaseMs}).`,
    );
  return out;
}
