import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client over a bare TCP socket, lean enough to out-run the
 * server it reads (RFC 6455, no extensions): it parses only frame headers,
 * counts frames, and hands the payload of a frame on only when asked to
 * (`wantPayload`), so a receiving socket costs a header parse per frame and
 * a `data` callback per TCP read. Server frames are unmasked, so nothing is
 * copied unless a frame is sampled or split across reads.
 */
export interface LeanHandlers {
  /** Asked at each frame's header: hand this one's payload to `onFrame`? */
  wantPayload(): boolean;
  /** Every data frame; `payload` only when `wantPayload` said so. */
  onFrame(opcode: number, payload: Buffer | undefined): void;
  onClose(): void;
  /**
   * Engine.IO (Socket.IO's transport): a text frame `2` is the server's
   * ping; answer `3` and do not count it as a frame.
   */
  engineIo?: boolean;
}

enum State {
  Header,
  Payload,
}

export class LeanSocket {
  /** TCP reads (`data` callbacks) after the handshake. */
  reads = 0;
  private state = State.Header;
  private head: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private opcode = 0;
  private parts: Buffer[] | undefined;
  private closed = false;

  private constructor(
    readonly socket: Socket,
    private readonly h: LeanHandlers,
  ) {}

  /** Opens `url` (ws://host:port/path), offering `protocols`; resolves once the server answered 101. */
  static open(
    url: string,
    protocols: string[],
    localAddress: string | undefined,
    h: LeanHandlers,
  ): Promise<LeanSocket> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: u.hostname,
        port: Number(u.port),
        ...(localAddress ? { localAddress } : {}),
      });
      socket.setNoDelay(true);
      const lean = new LeanSocket(socket, h);
      let buf = Buffer.alloc(0);
      const onHandshake = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHandshake);
        const status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 101/.test(status)) {
          socket.destroy();
          return reject(new Error(`upgrade answered ${status}`));
        }
        socket.on('data', (c: Buffer) => lean.onData(c));
        socket.on('close', () => lean.onClosed());
        resolve(lean);
        if (buf.length > end + 4) lean.onData(buf.subarray(end + 4));
      };
      socket.on('data', onHandshake);
      socket.once('error', (e) => {
        reject(e);
        lean.onClosed();
      });
      socket.once('connect', () => {
        const proto = protocols.length > 0 ? `Sec-WebSocket-Protocol: ${protocols.join(', ')}\r\n` : '';
        socket.write(
          `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${proto}\r\n`,
        );
      });
    });
  }

  /** Sends one masked frame (text for strings, binary for bytes). */
  send(data: string | Uint8Array): void {
    const payload = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    const n = payload.length;
    const ext = n < 126 ? 0 : n < 65_536 ? 2 : 8;
    const frame = Buffer.alloc(2 + ext + 4 + n);
    frame[0] = 0x80 | (typeof data === 'string' ? 1 : 2);
    frame[1] = 0x80 | (ext === 0 ? n : ext === 2 ? 126 : 127);
    if (ext === 2) frame.writeUInt16BE(n, 2);
    else if (ext === 8) frame.writeBigUInt64BE(BigInt(n), 2);
    const mask = randomBytes(4);
    mask.copy(frame, 2 + ext);
    for (let i = 0; i < n; i++) frame[2 + ext + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(frame);
  }

  terminate(): void {
    this.socket.destroy();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.h.onClose();
  }

  private onData(c: Buffer): void {
    this.reads++;
    let at = 0;
    const len = c.length;
    while (at < len) {
      if (this.state === State.Payload) {
        const take = Math.min(this.remaining, len - at);
        this.parts?.push(c.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      // Header: 2 bytes, plus 2 or 8 of length (server frames carry no mask).
      let h: Buffer = c;
      let base = at;
      if (this.head.length > 0) {
        h = Buffer.concat([this.head, c.subarray(at, Math.min(len, at + 14))]);
        base = 0;
      }
      const avail = h.length - base;
      if (avail < 2) return this.keepHead(h, c, at);
      const b1 = h[base + 1]! & 0x7f;
      const size = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
      if (avail < size) return this.keepHead(h, c, at);
      this.opcode = h[base]! & 0x0f;
      this.remaining =
        b1 < 126 ? b1 : b1 === 126 ? h.readUInt16BE(base + 2) : Number(h.readBigUInt64BE(base + 2));
      // Bytes of `c` the header used (part of it may have come from the previous read).
      at += size - this.head.length;
      this.head = Buffer.alloc(0);
      // An Engine.IO ping is a one-byte text frame: its byte is needed to tell it from an event.
      const ping = this.h.engineIo === true && this.opcode === 1 && this.remaining === 1;
      this.parts = this.opcode >= 8 || ping || this.h.wantPayload() ? [] : undefined;
      this.state = State.Payload;
      if (this.remaining === 0) this.endFrame();
    }
  }

  /** Fewer header bytes than needed, all of this read: keep them for the next. */
  private keepHead(h: Buffer, c: Buffer, at: number): void {
    this.head = this.head.length > 0 ? h : Buffer.from(c.subarray(at));
  }

  private endFrame(): void {
    this.state = State.Header;
    const parts = this.parts;
    this.parts = undefined;
    const payload = parts ? (parts.length === 1 ? parts[0]! : Buffer.concat(parts)) : undefined;
    if (this.opcode === 8) {
      this.socket.end();
      return;
    }
    if (this.opcode === 9) return this.sendControl(0xa, payload ?? Buffer.alloc(0));
    if (this.opcode === 10) return;
    if (this.h.engineIo && this.opcode === 1 && payload?.length === 1 && payload[0] === 0x32)
      return this.send('3');
    this.h.onFrame(this.opcode, payload);
  }

  private sendControl(opcode: number, payload: Buffer): void {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | payload.length;
    // A zero mask key: the payload goes as it is.
    payload.copy(frame, 6);
    this.socket.write(frame);
  }
}
