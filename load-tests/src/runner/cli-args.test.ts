import { describe, expect, it } from 'vitest';
import { parseArgs } from './cli-args.js';

describe('npm run load arguments', () => {
  it('--duration sets the executor and, where the scenario has one, its duration param', () => {
    // soak's own loop (sampling, publishing) runs for its `duration` param: a 6m run kept sampling until 30m's cap.
    const a = parseArgs(['soak', '--duration', '6m']);
    expect(a.executor.duration).toBe('6m');
    expect(a.params.duration).toBe('6m');
  });

  it('leaves params alone for a scenario without a duration param', () => {
    const a = parseArgs(['hold', '--duration', '20s']);
    expect(a.executor.duration).toBe('20s');
    expect(a.params).not.toHaveProperty('duration');
  });

  it('takes scenario params by name and refuses unknown ones and non-loopback URLs', () => {
    expect(parseArgs(['soak', '--clients', '50']).params.clients).toBe(50);
    expect(() => parseArgs(['soak', '--nope', '1'])).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['soak', '--url', 'ws://10.0.0.1:3000/ws'])).toThrow(/loopback only/);
  });
});
