/** One reading of a node's own figures, from its Prometheus endpoint. */
export interface ServerSample {
  /** When it was taken (ms since the Unix epoch). */
  t: number;
  rss: number;
  heapUsed: number;
  eventLoopP99Ms: number;
}

const NAMES = {
  rss: 'shutter_process_resident_memory_bytes',
  heapUsed: 'shutter_nodejs_heap_size_used_bytes',
  eventLoopP99: 'shutter_nodejs_eventloop_lag_p99_seconds',
} as const;

/** Reads RSS, V8 heap in use and event-loop delay p99 from `GET <httpUrl>/metrics` (open on a non-production node). */
export async function scrapeServer(httpUrl: string, token?: string): Promise<ServerSample> {
  const res = await fetch(`${httpUrl}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseSample(await res.text(), Date.now());
}

/** The three figures of a Prometheus text exposition; throws if one is missing. */
export function parseSample(text: string, t: number): ServerSample {
  const value = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    if (!m) throw new Error(`/metrics has no ${name}`);
    return Number(m[1]);
  };
  return {
    t,
    rss: value(NAMES.rss),
    heapUsed: value(NAMES.heapUsed),
    eventLoopP99Ms: value(NAMES.eventLoopP99) * 1000,
  };
}

/** The least-squares slope of `v` over time, per hour (0 with fewer than two points). */
export function slopePerHour(points: readonly { t: number; v: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}
