import { WebSocket } from 'ws';
import { ShutterClient } from '../client.js';
import type { ClientOptions } from '../options.js';
import type { ClientErrorEvent, ClientState, DisconnectReason } from '../types.js';
import type { FakeServer } from './fake-server.js';

/** A client wired to a fake server, with everything it emitted recorded. */
export interface TestClient {
  client: ShutterClient;
  states: ClientState[];
  errors: ClientErrorEvent[];
  reconnects: { delayMs: number; reason: DisconnectReason }[];
}

const live = new Set<ShutterClient>();

/** Fast timings so tests run in milliseconds; override any option. */
export function testClient(server: FakeServer, options: Partial<ClientOptions> = {}): TestClient {
  const client = new ShutterClient({
    url: server.url,
    // The default token only when the test gives neither token nor getToken.
    ...(options.getToken === undefined ? { token: 'tok-alice' } : {}),
    WebSocket,
    backoff: { minMs: 10, maxMs: 50, factor: 2 },
    resumeJitterMs: 5,
    requestTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    stableConnectionMs: 20,
    reorderWindowMs: 50,
    ...options,
  });
  live.add(client);
  const t: TestClient = { client, states: [], errors: [], reconnects: [] };
  client.on('state', (c) => t.states.push(c.state));
  client.on('error', (e) => t.errors.push(e));
  client.on('reconnect', (r) => t.reconnects.push(r));
  return t;
}

/** Disconnects every client made by `testClient` (call in afterEach). */
export function disconnectAll(): void {
  for (const c of live) c.disconnect();
  live.clear();
}
