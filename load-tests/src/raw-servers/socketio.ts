import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import { Server } from 'socket.io';

/**
 * The peer the fan-out benchmark compares Shutter with: a Socket.IO 4.8
 * server as a Node team would write it, on its default engine (`ws`,
 * SIO_ENGINE=ws) or on uWebSockets.js (SIO_ENGINE=uws: `io.attachApp` with
 * the uWS build the Shutter server runs on; Socket.IO then broadcasts to a
 * room with one uWS `app.publish`). WebSocket transport only, no
 * compression. Each connection joins the room `bench`; `POST /publish`
 * takes a JSON array of events and emits each to the room
 * (`io.to('bench').emit('ev', event)`) in the same callback, as the raw
 * servers publish a body of frames. Each reaches a client as one Engine.IO
 * text frame, `42["ev",{…}]`. Pings stay at Socket.IO's defaults (every
 * 25 s; the benchmark's clients answer them).
 */
const ROOM = 'bench';
const port = Number(process.env.PORT ?? 0);
const engine = process.env.SIO_ENGINE === 'uws' ? 'uws' : 'ws';
const io = new Server({
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
});
io.on('connection', (socket) => {
  void socket.join(ROOM);
});

/** Emits each event of a JSON array body to the room; the answer says how many sockets it holds. */
function publish(body: Buffer): string {
  for (const ev of JSON.parse(body.toString('utf8')) as unknown[]) io.to(ROOM).emit('ev', ev);
  return `{"sockets":${io.engine.clientsCount}}`;
}

const ready = (p: number) => process.stdout.write(`${JSON.stringify({ ready: true, port: p, engine })}\n`);

if (engine === 'uws') {
  const require = createRequire(import.meta.url);
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof Uws;
  const app = uws.App();
  io.attachApp(app as never);
  app.post('/publish', (res) => {
    const chunks: Buffer[] = [];
    res.onAborted(() => {
      chunks.length = 0;
    });
    res.onData((chunk, last) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!last) return;
      const answer = publish(Buffer.concat(chunks));
      res.cork(() => res.writeHeader('content-type', 'application/json').end(answer));
    });
  });
  app.get('/healthz', (res) => {
    res.end('ok');
  });
  app.listen('127.0.0.1', port, (token) => {
    if (!token) throw new Error(`socketio (uws) could not listen on ${port}`);
    ready(uws.us_socket_local_port(token));
  });
} else {
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/publish') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = publish(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
      });
      return;
    }
    // Socket.IO answers its own path (/socket.io/) before this handler.
    if (req.url?.startsWith('/socket.io')) return;
    res.writeHead(req.url === '/healthz' ? 200 : 404).end();
  });
  io.attach(server);
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    ready(typeof addr === 'object' && addr ? addr.port : port);
  });
}
process.on('SIGTERM', () => process.exit(0));
