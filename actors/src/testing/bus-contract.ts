import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, BusNoResponders, BusRemoteError, BusTimeout } from '../runtime/bus.js';

export interface BusContractHarness {
  /** Two handles on the same bus (two connections for NATS; the same object for memory). */
  open(): Promise<{ a: Bus; b: Bus; close(): Promise<void> }>;
  /** A fresh subject prefix per test, so runs never see each other's traffic. */
  prefix(): string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The contract every `Bus` adapter passes. */
export function busContract(name: string, harness: BusContractHarness): void {
  describe(`Bus contract: ${name}`, () => {
    let a: Bus;
    let b: Bus;
    let close: () => Promise<void>;
    let p: string;
    beforeEach(async () => {
      ({ a, b, close } = await harness.open());
      p = harness.prefix();
    });
    afterEach(async () => close());

    it('delivers a publish to every subscriber, in order, never synchronously', async () => {
      const got1: string[] = [];
      const got2: string[] = [];
      a.subscribe(`${p}.x`, (d) => got1.push(dec.decode(d)));
      b.subscribe(`${p}.x`, (d) => got2.push(dec.decode(d)));
      await a.flush();
      await b.flush();
      for (let i = 0; i < 50; i++) b.publish(`${p}.x`, enc.encode(String(i)));
      expect(got1).toEqual([]);
      await until(() => got1.length === 50 && got2.length === 50);
      expect(got1).toEqual([...Array(50).keys()].map(String));
      expect(got2).toEqual(got1);
    });

    it('matches * and > wildcards', async () => {
      const star: string[] = [];
      const tail: string[] = [];
      a.subscribe(`${p}.*.y`, (_d, s) => star.push(s));
      a.subscribe(`${p}.>`, (_d, s) => tail.push(s));
      await a.flush();
      for (const s of ['q.y', 'q.z', 'q.y.z']) b.publish(`${p}.${s}`, new Uint8Array());
      await until(() => tail.length === 3);
      await new Promise((r) => setTimeout(r, 30));
      expect(star).toEqual([`${p}.q.y`]);
    });

    it('gives each message to one member of a queue group', async () => {
      let n1 = 0;
      let n2 = 0;
      a.subscribe(`${p}.q`, () => n1++, { queue: 'g' });
      b.subscribe(`${p}.q`, () => n2++, { queue: 'g' });
      await a.flush();
      await b.flush();
      for (let i = 0; i < 100; i++) a.publish(`${p}.q`, new Uint8Array());
      await until(() => n1 + n2 === 100);
      await new Promise((r) => setTimeout(r, 30));
      expect(n1 + n2).toBe(100);
    });

    it('stops delivering after unsubscribe', async () => {
      let n = 0;
      const sub = a.subscribe(`${p}.u`, () => n++);
      await a.flush();
      b.publish(`${p}.u`, new Uint8Array());
      await until(() => n === 1);
      sub.unsubscribe();
      await a.flush();
      b.publish(`${p}.u`, new Uint8Array());
      await b.flush();
      await new Promise((r) => setTimeout(r, 50));
      expect(n).toBe(1);
    });

    it('answers requests, and reports no responders, timeouts and remote errors by type', async () => {
      a.serve(`${p}.echo`, (d) => enc.encode(`re:${dec.decode(d)}`));
      a.serve(`${p}.slow`, () => new Promise<Uint8Array>((r) => setTimeout(() => r(new Uint8Array()), 500)));
      a.serve(`${p}.fail`, () => {
        throw new Error('boom');
      });
      await a.flush();
      expect(dec.decode(await b.request(`${p}.echo`, enc.encode('hi'), { timeoutMs: 2000 }))).toBe('re:hi');
      await expect(b.request(`${p}.nobody`, new Uint8Array(), { timeoutMs: 2000 })).rejects.toBeInstanceOf(
        BusNoResponders,
      );
      await expect(b.request(`${p}.slow`, new Uint8Array(), { timeoutMs: 50 })).rejects.toBeInstanceOf(
        BusTimeout,
      );
      const err = await b
        .request(`${p}.fail`, new Uint8Array(), { timeoutMs: 2000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusRemoteError);
      expect((err as Error).message).toContain('boom');
    });

    it('serves requests concurrently and in queue groups', async () => {
      a.serve(`${p}.n`, (d) => d, { queue: 'svc' });
      b.serve(`${p}.n`, (d) => d, { queue: 'svc' });
      await a.flush();
      await b.flush();
      const replies = await Promise.all(
        [...Array(200).keys()].map((i) => a.request(`${p}.n`, enc.encode(String(i)), { timeoutMs: 5000 })),
      );
      expect(replies.map((r) => Number(dec.decode(r)))).toEqual([...Array(200).keys()]);
    });
  });
}
