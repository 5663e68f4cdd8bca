import type { SparseHistogram } from './histogram.js';

export type ClientKind = 'native' | 'lean' | 'ws';

/** Orchestrator → client process. */
export type ClientCommand =
  | {
      cmd: 'connect';
      url: string;
      count: number;
      /**
       * `shutter`: hello → welcome before counting a socket; `raw`: open is enough; `socketio`: the
       * Engine.IO open packet, then `40` → `40{sid}` (the default namespace), and pings answered.
       */
      mode: 'shutter' | 'raw' | 'socketio';
      codec: 'msgpack' | 'json';
      localAddress: string;
      secret: string;
      userPrefix: string;
      concurrency: number;
      /**
       * How events are read: `ws` decodes every frame; `lean` (lean-ws.ts) counts frames and decodes a
       * sample in Node; `native` connects like `lean`, then hands the sockets to fastread (native-reader.ts).
       */
      client: ClientKind;
    }
  | { cmd: 'subscribe'; stream: string; concurrency: number }
  /** Zeroes the counts; from now on decode (time and check) every `sampleEvery`-th event per socket (`ws` decodes all). */
  | { cmd: 'reset'; sampleEvery: number }
  | { cmd: 'report' }
  | { cmd: 'close' };

/** Client process → orchestrator, one answer per command. */
export type ClientReply =
  | { ev: 'connected'; ok: number; failed: number; firstError?: string }
  | { ev: 'subscribed'; ok: number; failed: number; firstError?: string }
  | { ev: 'reset' }
  | {
      ev: 'report';
      received: number;
      /** Events that arrived out of order or after a gap, per socket. */
      gaps: number;
      /** Sockets closed by the server since connect. */
      closed: number;
      hist: SparseHistogram;
      /** Events decoded (timed, seq checked): all of them with `ws`, a sample with the lean client. */
      sampled: number;
      /** TCP reads since reset (lean and native; 0 with `ws`). */
      reads: number;
      /** This process's user + system CPU since reset, with its native reader's, in seconds. */
      cpuSeconds: number;
    }
  | { ev: 'closed' };
