import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * The raw `ws` broadcast the fan-out benchmark compares Shutter with: a set
 * of open sockets; `POST /publish` sends the body bytes, unchanged, to each
 * with `ws.send` in a loop. No auth, no protocol.
 */
const port = Number(process.env.PORT ?? 0);
const sockets = new Set<WebSocket>();

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const frame = Buffer.concat(chunks);
      for (const ws of sockets) ws.send(frame, { binary: true });
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sockets":${sockets.size}}`);
    });
    return;
  }
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  sockets.add(ws);
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
