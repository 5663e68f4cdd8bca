import { createRequire } from 'node:module';
import type * as Uws from '@trufflesuite/uws-js-unofficial';

/**
 * The raw uWebSockets.js broadcast the fan-out benchmark compares Shutter
 * with: every socket joins one topic on open; `POST /publish` sends the body
 * bytes, unchanged, to the topic with one `app.publish`. No auth, no
 * protocol, nothing per socket in JS. A body of several frames back to back
 * (`x-frame-sizes: 78,78,…`) is published as one `app.publish` per frame in
 * the same callback: uWS then sends each socket the frames that met in one
 * turn of its loop in one write.
 */
const require = createRequire(import.meta.url);
const uws = require('@trufflesuite/uws-js-unofficial') as typeof Uws;
if (!/\[native code\]/.test(Function.prototype.toString.call(uws.App)) || !('SSLApp' in uws)) {
  throw new Error('raw-uws needs the native uWebSockets.js addon');
}
const TOPIC = 'bench';
const port = Number(process.env.PORT ?? 0);
let sockets = 0;

const app = uws.App();
app.ws('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 1024 * 1024,
  idleTimeout: 0,
  open: (ws) => {
    sockets++;
    ws.subscribe(TOPIC);
  },
  close: () => {
    sockets--;
  },
});
app.post('/publish', (res, req) => {
  const sizes = req.getHeader('x-frame-sizes');
  const chunks: Buffer[] = [];
  // MUST: an abort handler before returning from the handler (uWS rule).
  res.onAborted(() => {
    chunks.length = 0;
  });
  res.onData((chunk, last) => {
    // The chunk is only valid inside this callback: copy it.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!last) return;
    const body = Buffer.concat(chunks);
    if (sizes === '') app.publish(TOPIC, body, true, false);
    else {
      let at = 0;
      for (const n of sizes.split(',').map(Number)) {
        app.publish(TOPIC, body.subarray(at, at + n), true, false);
        at += n;
      }
    }
    res.cork(() => res.writeHeader('content-type', 'application/json').end(`{"sockets":${sockets}}`));
  });
});
app.get('/healthz', (res) => {
  res.end('ok');
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) throw new Error(`raw-uws could not listen on ${port}`);
  process.stdout.write(`${JSON.stringify({ ready: true, port: uws.us_socket_local_port(token) })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
