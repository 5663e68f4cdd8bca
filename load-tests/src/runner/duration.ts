/** Parses k6-style durations: `500ms`, `30s`, `2m`, `1h`, `1m30s`; a bare number is seconds. */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') return s * 1000;
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let ms = 0;
  let used = 0;
  for (const m of t.matchAll(re)) {
    const n = Number(m[1]);
    ms += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    used += m[0].length;
  }
  if (used === 0 || used !== t.length)
    throw new Error(`bad duration "${s}" (use e.g. 500ms, 30s, 2m, 1m30s)`);
  return ms;
}

export const formatMs = (ms: number): string =>
  !Number.isFinite(ms)
    ? String(ms)
    : ms >= 60_000
      ? `${Math.floor(ms / 60_000)}m${((ms % 60_000) / 1000).toFixed(0)}s`
      : ms >= 1000
        ? `${(ms / 1000).toFixed(2)}s`
        : ms >= 1
          ? `${ms.toFixed(2)}ms`
          : `${(ms * 1000).toFixed(0)}µs`;
