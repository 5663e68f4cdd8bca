import { createClient } from '@shutter/client-sdk';
import WebSocket from 'ws';
import { mintHs256 } from '../fanout/jwt.js';
import type { RunnerContext } from '../runner/scenario.js';

/**
 * Connects `n` SDK clients from the runner (spread over the nodes), then closes them: the nodes'
 * socket paths are compiled and its lazy modules loaded before anything is
 * measured (the fan-out benchmark's warm-up, on the SDK).
 */
export async function warmUp(ctx: RunnerContext<never>, n: number): Promise<void> {
  const clients = Array.from({ length: n }, (_, i) =>
    createClient({
      url: ctx.target.wsUrls[i % ctx.target.wsUrls.length] ?? ctx.target.wsUrl,
      token: mintHs256(ctx.target.secret, `warmup${i}`, 600),
      WebSocket: WebSocket as never,
    }),
  );
  for (const c of clients) c.connect();
  await Promise.all(clients.map((c) => c.ready(30_000)));
  for (const c of clients) c.disconnect();
  await new Promise((r) => setTimeout(r, 1000));
}
