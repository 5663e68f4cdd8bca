import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy a test can cut, stall or point elsewhere: it plays the
 * network (and the load balancer) between a client and the nodes.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  port = 0;

  constructor(private targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      if (this.stalled) this.stallPair(pair);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Drops every connection at once, as a network failure would (no close frames). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** New connections go to another node. */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Stops forwarding bytes while keeping sockets open: a half-open connection. */
  stall(): void {
    this.stalled = true;
    for (const p of this.pairs) this.stallPair(p);
  }

  /**
   * The connections open now go dark for good, as after a network switch or
   * a dead NAT entry: no byte and no close crosses in either direction (the
   * node closing its end does not reach the client), while new connections
   * flow normally.
   */
  blackhole(): void {
    for (const pair of this.pairs) {
      this.stallPair(pair);
      const upstream = pair[1];
      upstream.removeAllListeners('close');
      upstream.removeAllListeners('error');
      upstream.on('error', () => {});
    }
  }

  private stallPair([a, b]: [Socket, Socket]): void {
    a.unpipe();
    b.unpipe();
    a.pause();
    b.pause();
  }

  unstall(): void {
    this.stalled = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
