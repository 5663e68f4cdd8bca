import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/runner/result.js';

/**
 * Every scenario's smoke run through the real command (`npm run load --
 * <scenario> --smoke`): a node started by the runner, tiny N, seconds long.
 * Its thresholds must pass and its JSON summary must hold what the scenario
 * measures. The three run at once (about 20 s each on this 2-core machine).
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = mkdtempSync(join(tmpdir(), 'load-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function load(
  args: string[],
): Promise<{ code: number | null; stdout: string; result: RunResult; html: string }> {
  const dir = mkdtempSync(join(out, `${args[0]}-`));
  const child = spawn('npm', ['run', '--silent', 'load', '--', ...args, '--out', dir, '--quiet'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const files = readdirSync(dir);
  const json = files.find((f) => f.startsWith(`${args[0]}-smoke-`) && f.endsWith('.json'));
  const html = files.find((f) => f.endsWith('.html'));
  if (!json || !html)
    throw new Error(`no report from ${args.join(' ')} (exit ${code}):\n${stdout}\n${stderr}`);
  return {
    code,
    stdout,
    result: JSON.parse(readFileSync(join(dir, json), 'utf8')) as RunResult,
    html: readFileSync(join(dir, html), 'utf8'),
  };
}

function expectPassed(r: Awaited<ReturnType<typeof load>>, metrics: string[]): void {
  const failed = r.result.thresholds.filter((t) => !t.ok);
  expect(failed, r.stdout).toEqual([]);
  expect(r.result.runError).toBeNull();
  expect(r.code).toBe(0);
  expect(r.result.thresholds.length).toBeGreaterThan(0);
  for (const m of metrics) expect(Object.keys(r.result.metrics), `metric ${m}`).toContain(m);
  expect(r.result.checks.length).toBeGreaterThan(0);
  expect(r.result.checks.filter((c) => c.fails > 0)).toEqual([]);
  expect(r.stdout).toContain('✓ all thresholds passed');
  expect(r.html).toContain('<svg');
}

describe.concurrent('npm run load -- <scenario> --smoke', () => {
  it('hold: sockets connect, authenticate, idle; RSS per socket and connect rate recorded', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['hold', '--smoke']);
    expectPassed(r, [
      'connect_ms',
      'sockets_connected',
      'connect_rate',
      'server_rss_per_socket_bytes',
      'vus',
    ]);
    const s = r.result.metrics.sockets_connected;
    expect(s?.type === 'counter' && s.count).toBe(r.result.params.sockets);
    expect(r.result.timeline.connect_ms?.length).toBeGreaterThan(0);
  });

  it('reconnect-storm: all clients back after a SIGKILL restart, no acknowledged event lost', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['reconnect-storm', '--smoke']);
    expectPassed(r, ['clients_back', 'events_lost', 'events_published', 'storm_recovery_ms', 'reconnect_ms']);
    const published = r.result.metrics.events_published;
    expect(published?.type === 'counter' && published.count).toBeGreaterThan(0);
    const received = r.result.metrics.events_received;
    // Every client received at least every acknowledged event.
    expect(
      received?.type === 'counter' && published?.type === 'counter' && received.count,
    ).toBeGreaterThanOrEqual(
      published?.type === 'counter' ? published.count * Number(r.result.params.clients) : Number.NaN,
    );
  });

  it.each([
    'write',
    'read',
  ])('celebrity-post (fan-out on %s): every follower gets each post once, latency recorded', {
    timeout: 120_000,
  }, async (mode) => {
    const r = await load(['celebrity-post', '--smoke', '--mode', mode]);
    expectPassed(r, ['feed_delivery_ms', 'feed_events', 'feed_missing', 'feed_duplicates']);
    const events = r.result.metrics.feed_events;
    expect(events?.type === 'counter' && events.count).toBe(
      Number(r.result.params.followers) * Number(r.result.params.posts),
    );
  });

  it('feed-scroll: seeded users read pages of their feeds over the socket', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['feed-scroll', '--smoke']);
    expectPassed(r, ['feed_page_ms', 'feed_pages', 'feed_items', 'feed_page_errors']);
    const items = r.result.metrics.feed_items;
    expect(items?.type === 'counter' && items.count).toBeGreaterThan(0);
  });

  it('explore-scroll: seeded users read explore pages over the socket', { timeout: 120_000 }, async () => {
    const r = await load(['explore-scroll', '--smoke']);
    expectPassed(r, ['explore_page_ms', 'explore_pages', 'explore_items', 'explore_page_errors']);
    const items = r.result.metrics.explore_items;
    expect(items?.type === 'counter' && items.count).toBeGreaterThan(0);
  });

  it('rolling-deploy: a 3-node cluster restarted node by node loses no event', {
    timeout: 180_000,
  }, async () => {
    const r = await load(['rolling-deploy', '--smoke']);
    expectPassed(r, [
      'events_lost',
      'events_published',
      'node_settle_ms',
      'delivery_before_ms',
      'sockets_reconnected',
    ]);
    const rolled = r.result.metrics.nodes_rolled;
    expect(rolled?.type === 'gauge' && rolled.value).toBe(3);
  });

  it('soak: a steady mixed load while the node is sampled; growth and event-loop delay recorded', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['soak', '--smoke']);
    expectPassed(r, [
      'server_rss_bytes',
      'server_heap_used_bytes',
      'server_eventloop_p99_ms',
      'server_rss_growth_mb_per_hour',
      'events_missing',
      'feed_page_ms',
    ]);
    const received = r.result.metrics.events_received;
    expect(received?.type === 'counter' && received.count).toBeGreaterThan(0);
    // Sampled through the run, not once: the growth is fitted over a timeline.
    expect(r.result.timeline.server_rss_bytes?.length).toBeGreaterThan(3);
  });

  it('hot-photo: likers and viewers on one post across two nodes; the count is exact and every viewer ends on it', {
    timeout: 180_000,
  }, async () => {
    const r = await load(['hot-photo', '--smoke']);
    expectPassed(r, [
      'likes_acked_per_second',
      'like_ack_ms',
      'like_to_viewer_ms',
      'count_mismatch',
      'viewers_stale',
      'viewer_rate_violations',
    ]);
    const expected = r.result.metrics.final_likes_expected;
    const counted = r.result.metrics.final_likes_counted;
    expect(expected?.type === 'gauge' && counted?.type === 'gauge' && counted.value).toBe(
      expected?.type === 'gauge' ? expected.value : Number.NaN,
    );
  });

  it('day-in-the-life: every action through the SDK (upload → post included); stored counts equal their rows', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['day-in-the-life', '--smoke']);
    expectPassed(r, [
      'feed_page_ms',
      'view_counts_ms',
      'like_ms',
      'unlike_ms',
      'comment_ms',
      'follow_ms',
      'unfollow_ms',
      'upload_ready_ms',
      'post_create_ms',
      'consistency{check:likeCounts}',
      'consistency{check:oneSidedEdges}',
    ]);
    // Each user uploads at least once (the smoke run takes every path first), and each upload became a post.
    const created = r.result.metrics.posts_created;
    expect(created?.type === 'counter' && created.count).toBeGreaterThanOrEqual(Number(r.result.params.vus));
  });

  it('broadcast: Shutter beside its raw baseline and Socket.IO (read over Engine.IO) in one run', {
    timeout: 120_000,
  }, async () => {
    const r = await load(['broadcast', '--smoke']);
    expectPassed(r, [
      'events_lost{target:raw-uws}',
      'events_lost{target:shutter-uws}',
      'events_lost{target:socketio-uws}',
      'post_delivery_p99_ms{target:shutter-uws}',
      'deliveries_vs_raw{engine:uws}',
      'deliveries_vs_peer{engine:uws}',
    ]);
  });

  it('a crossed threshold exits 99 and says which', { timeout: 120_000 }, async () => {
    const r = await load(['hold', '--smoke', '--threshold', 'connect_ms=max<0']);
    expect(r.code).toBe(99);
    expect(r.result.ok).toBe(false);
    expect(r.result.thresholds.filter((t) => !t.ok).map((t) => `${t.metric}: ${t.threshold}`)).toEqual([
      'connect_ms: max<0',
    ]);
    expect(r.stdout).toContain('✗ connect_ms: max<0');
  });
});
