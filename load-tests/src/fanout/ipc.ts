import type { SparseHistogram } from './histogram.js';

/** Orchestrator → client process. */
export type ClientCommand =
  | {
      cmd: 'connect';
      url: string;
      count: number;
      /** `shutter`: hello → welcome before counting a socket; `raw`: open is enough. */
      mode: 'shutter' | 'raw';
      codec: 'msgpack' | 'json';
      localAddress: string;
      secret: string;
      userPrefix: string;
      concurrency: number;
    }
  | { cmd: 'subscribe'; stream: string; concurrency: number }
  | { cmd: 'reset' }
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
    }
  | { ev: 'closed' };
