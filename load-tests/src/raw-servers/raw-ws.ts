import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * The raw `ws` broadcast the fan-out benchmark compares Shutter with: a set
 * of open sockets; `POST /publish` sends the body bytes, unchanged, to each
 * with `ws.send` in a loop. No auth, no protocol. A body of several frames
 * back to back (`x-frame-sizes: 78,78,…`) goes to each socket in one write
 * (its TCP socket corked around the sends), the least a ws server can do.
 */
const port = Number(process.env.PORT ?? 0);
/** Each open WebSocket and the TCP socket under it (to cork). */
const sockets = new Map<WebSocket, Duplex>();

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sizes = req.headers['x-frame-sizes'];
      if (typeof sizes !== 'string') for (const ws of sockets.keys()) ws.send(body, { binary: true });
      else {
        const frames: Buffer[] = [];
        let at = 0;
        for (const n of sizes.split(',').map(Number)) {
          frames.push(body.subarray(at, at + n));
          at += n;
        }
        for (const [ws, tcp] of sockets) {
          tcp.cork();
          for (const f of frames) ws.send(f, { binary: true });
          tcp.uncork();
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sockets":${sockets.size}}`);
    });
    return;
  }
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  sockets.set(ws, req.socket);
  ws.on('close', () => sockets.delete(ws));
  ws.on('error', () => ws.terminate());
});
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(
    `${JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : port })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
