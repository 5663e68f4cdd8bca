import { scenarios } from '../scenarios/index.js';
import type { ExecutorOverrides } from './run.js';
import type { Params } from './scenario.js';

export const USAGE = `usage: npm run load -- <scenario> [options]

scenarios:
${Object.values(scenarios)
  .map((s) => `  ${s.name.padEnd(16)} ${s.description}`)
  .join('\n')}

runner options:
  --smoke                 tiny, seconds long, on a node the runner starts (part of npm test)
  --url ws://host:port/ws run against a running Shutter (with --secret, --admin-token)
  --nodes N               start a local cluster of N nodes (CLUSTER=true on the local NATS) instead of one
  --secret S              HS256 secret the server verifies tokens with (VUs mint their tokens)
  --admin-token T         bearer token of the admin API (scenarios that publish)
  --workers N             worker processes (default: max(2, VUs / 8000))
  --vus N | --duration 30s | --iterations N | --rate N | --stages 10s:100,20s:100
                          override the scenario's executor (--duration also sets a
                          scenario's own duration param, where it has one)
  --max-seconds N         hard cap on the whole run (default: planned time + 300 s)
  --out DIR               where the JSON and HTML reports go (default load-tests/results)
  --database-url URL      PostgreSQL of a node the runner starts (default postgres://postgres@127.0.0.1:5432/test)
  --redis-url URL         Redis of a node the runner starts (default redis://127.0.0.1:6379)
  --nats-url URL          NATS of a local cluster (default nats://127.0.0.1:4222)
  --threshold 'metric=expr'  add a threshold, e.g. --threshold 'connect_ms=p(95)<100'
  --quiet                 no live progress
scenario options: --<param> <value> for each of the scenario's params (see docs/load-tests.md)`;

/** The command line of `npm run load`: the scenario, the runner's options and the scenario's params. */
export function parseArgs(argv: string[]) {
  const name = argv[0];
  if (!name || name === '--help' || name === '-h' || name.startsWith('--')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(name ? 0 : 1);
  }
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(scenarios).join(', ')}`);
  const flags = new Map<string, string | true>();
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), true);
  }
  const take = (k: string): string | undefined => {
    const v = flags.get(k);
    flags.delete(k);
    if (v === true) throw new Error(`--${k} needs a value`);
    return v;
  };
  const bool = (k: string): boolean => {
    const v = flags.get(k);
    flags.delete(k);
    return v === true || v === 'true';
  };
  const num = (k: string): number | undefined => {
    const v = take(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number`);
    return n;
  };
  const stages = take('stages')
    ?.split(',')
    .map((s) => {
      const [duration, target] = s.split(':');
      if (!duration || target === undefined || !Number.isFinite(Number(target)))
        throw new Error(`--stages: "${s}" is not duration:target`);
      return { duration, target: Number(target) };
    });
  const executor: ExecutorOverrides = {};
  const vus = num('vus');
  if (vus !== undefined) executor.vus = vus;
  const duration = take('duration');
  if (duration !== undefined) executor.duration = duration;
  const iterations = num('iterations');
  if (iterations !== undefined) executor.iterations = iterations;
  const rate = num('rate');
  if (rate !== undefined) executor.rate = rate;
  if (stages) executor.stages = stages;
  const threshold = take('threshold');
  const extraThresholds: Record<string, string[]> = {};
  if (threshold !== undefined) {
    const eq = threshold.indexOf('=');
    if (eq <= 0) throw new Error(`--threshold: "${threshold}" is not metric=expression`);
    extraThresholds[threshold.slice(0, eq)] = [threshold.slice(eq + 1)];
  }
  const common = {
    extraThresholds,
    smoke: bool('smoke'),
    quiet: bool('quiet'),
    url: take('url'),
    secret: take('secret'),
    adminToken: take('admin-token'),
    workers: num('workers'),
    maxSeconds: num('max-seconds'),
    out: take('out'),
    databaseUrl: take('database-url') ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: take('redis-url') ?? 'redis://127.0.0.1:6379',
    natsUrl: take('nats-url') ?? 'nats://127.0.0.1:4222',
    nodes: num('nodes'),
  };
  const params: Params = {};
  for (const [k, v] of flags) {
    if (!(k in scenario.params))
      throw new Error(
        `unknown option --${k}; ${name}'s params: ${Object.keys(scenario.params).join(', ') || 'none'}`,
      );
    const d = scenario.params[k];
    if (typeof d === 'number') {
      const n = Number(v);
      if (v === true || !Number.isFinite(n)) throw new Error(`--${k} must be a number`);
      params[k] = n;
    } else if (typeof d === 'boolean') params[k] = v === true || v === 'true';
    else {
      if (v === true) throw new Error(`--${k} needs a value`);
      params[k] = v;
    }
  }
  // A scenario whose own hooks run for its `duration` param (soak samples and publishes until then) takes --duration too.
  if (duration !== undefined && 'duration' in scenario.params && params.duration === undefined)
    params.duration = duration;
  if (common.nodes !== undefined && (!Number.isInteger(common.nodes) || common.nodes < 1 || common.nodes > 5))
    throw new Error('--nodes: an integer from 1 to 5');
  for (const url of [common.url, common.databaseUrl, common.redisUrl, common.natsUrl]) {
    if (url === undefined) continue;
    const host = new URL(url).hostname;
    if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost')
      throw new Error(`${url}: load tests run on loopback only (127.0.0.0/8)`);
  }
  return { name, executor, params, ...common };
}
