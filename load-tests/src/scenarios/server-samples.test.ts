import { describe, expect, it } from 'vitest';
import { parseSample, slopePerHour } from './server-samples.js';

describe('server samples', () => {
  it('reads RSS, heap and event-loop p99 from a Prometheus exposition, labels or not', () => {
    const text = [
      '# HELP shutter_process_resident_memory_bytes Resident memory size in bytes.',
      'shutter_process_resident_memory_bytes{node="n1"} 950734848',
      'shutter_nodejs_eventloop_lag_p99_seconds{node="n1"} 0.040206335',
      'shutter_nodejs_heap_size_used_bytes 46840536',
    ].join('\n');
    expect(parseSample(text, 7)).toEqual({
      t: 7,
      rss: 950734848,
      heapUsed: 46840536,
      eventLoopP99Ms: 40.206335,
    });
    expect(() => parseSample('shutter_process_resident_memory_bytes 1', 0)).toThrow(/heap_size_used/);
  });

  it('fits the growth per hour by least squares', () => {
    // 2 MB a minute = 120 MB an hour, with noise that cancels out.
    const pts = Array.from({ length: 31 }, (_, i) => ({
      t: i * 60_000,
      v: 100 + 2 * i + (i % 2 ? 0.5 : -0.5),
    }));
    expect(slopePerHour(pts)).toBeCloseTo(120, 0);
    expect(slopePerHour([{ t: 0, v: 5 }])).toBe(0);
    expect(slopePerHour(Array.from({ length: 5 }, (_, i) => ({ t: i * 1000, v: 42 })))).toBe(0);
  });
});
