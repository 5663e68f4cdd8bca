import { describe, expect, it } from 'vitest';
import type { StreamLog, StreamLogOptions } from './stream-log.js';

/** The contract every `StreamLog` adapter passes (see the port's comment). */
export function streamLogContract(
  name: string,
  open: (o: StreamLogOptions) => Promise<StreamLog>,
  unique: () => string,
) {
  describe(`StreamLog contract: ${name}`, () => {
    it('creates an epoch at seq 0 on head and numbers appends 1, 2, 3 atomically', async () => {
      const log = await open({ maxEvents: 100, ttlSeconds: 60 });
      const s = `topic:${unique()}`;
      const h = await log.head(s);
      expect(h.seq).toBe(0);
      const evs = await Promise.all([...Array(20).keys()].map((i) => log.append(s, { i }, 1000 + i)));
      expect(evs.map((e) => e.seq).sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((i) => i + 1));
      expect(new Set(evs.map((e) => e.epoch))).toEqual(new Set([h.epoch]));
      expect(await log.head(s)).toEqual({ epoch: h.epoch, seq: 20 });
      await log.close();
    });

    it('appendMany appends in order, one seq after another per stream, across chunks, with a shared payload', async () => {
      const log = await open({ maxEvents: 100, ttlSeconds: 60 });
      const a = `topic:${unique()}`;
      const shared = { post: { id: 'p1', caption: 'hello' } };
      const others = [...Array(1200).keys()].map((i) => `topic:${unique()}-${i}`);
      await log.append(a, { before: true }, 1);
      const entries = [
        { stream: a, data: shared },
        ...others.map((stream) => ({ stream, data: shared })),
        { stream: a, data: { own: 2 } },
      ];
      const stored = await log.appendMany(entries, 5);
      expect(stored.map((e) => e.stream)).toEqual(entries.map((e) => e.stream));
      expect(stored[0]?.seq).toBe(2);
      expect(stored.at(-1)?.seq).toBe(3);
      expect(stored.slice(1, -1).every((e) => e.seq === 1)).toBe(true);
      // Each new stream got an epoch of its own.
      expect(new Set(stored.slice(1, -1).map((e) => e.epoch)).size).toBe(others.length);
      const r = await log.readAfter(a, { epoch: stored[0]!.epoch, seq: 1 }, 100);
      expect(r.status === 'ok' && r.events.map((e) => [e.seq, e.data, e.ts])).toEqual([
        [2, shared, 5],
        [3, { own: 2 }, 5],
      ]);
      const last = others.at(-1)!;
      const r2 = await log.readAfter(last, { epoch: stored.at(-2)!.epoch, seq: 0 }, 100);
      expect(r2.status === 'ok' && r2.events.map((e) => e.data)).toEqual([shared]);
      await log.close();
    });

    it('reads exactly what came after a position, with data and ts', async () => {
      const log = await open({ maxEvents: 100, ttlSeconds: 60 });
      const s = `topic:${unique()}`;
      for (let i = 1; i <= 10; i++) await log.append(s, { n: i, text: `e${i}` }, i);
      const { epoch } = await log.head(s);
      const r = await log.readAfter(s, { epoch, seq: 7 }, 100);
      expect(r.status).toBe('ok');
      if (r.status !== 'ok') return;
      expect(r.events.map((e) => [e.seq, e.data, e.ts])).toEqual([
        [8, { n: 8, text: 'e8' }, 8],
        [9, { n: 9, text: 'e9' }, 9],
        [10, { n: 10, text: 'e10' }, 10],
      ]);
      const none = await log.readAfter(s, { epoch, seq: 10 }, 100);
      expect(none).toMatchObject({ status: 'ok', events: [] });
      await log.close();
    });

    it('answers refetch when the history no longer reaches, the epoch differs, the position is ahead or past the limit', async () => {
      const log = await open({ maxEvents: 5, ttlSeconds: 60 });
      const s = `topic:${unique()}`;
      for (let i = 1; i <= 200; i++) await log.append(s, i, i);
      const { epoch } = await log.head(s);
      expect((await log.readAfter(s, { epoch, seq: 1 }, 1000)).status).toBe('refetch');
      expect((await log.readAfter(s, { epoch: 'other', seq: 199 }, 1000)).status).toBe('refetch');
      expect((await log.readAfter(s, { epoch, seq: 201 }, 1000)).status).toBe('refetch');
      expect((await log.readAfter(s, { epoch, seq: 197 }, 2)).status).toBe('refetch');
      const ok = await log.readAfter(s, { epoch, seq: 198 }, 1000);
      expect(ok.status).toBe('ok');
      if (ok.status === 'ok') expect(ok.events.map((e) => e.data)).toEqual([199, 200]);
      await log.close();
    });

    it("keeps a stream kind's own shorter history (historyOf), exactly, through append and appendMany", async () => {
      const log = await open({
        maxEvents: 100,
        ttlSeconds: 60,
        historyOf: (stream) => (stream.startsWith('nearby:') ? 1 : undefined),
      });
      const short = `nearby:${unique()}`;
      const long = `topic:${unique()}`;
      for (let i = 1; i <= 150; i++) await log.append(short, i, i);
      await log.appendMany(
        [
          { stream: short, data: 151 },
          { stream: long, data: 'a' },
          { stream: short, data: 152 },
          { stream: long, data: 'b' },
        ],
        200,
      );
      const h = await log.head(short);
      expect(h.seq).toBe(152);
      const last = await log.readAfter(short, { epoch: h.epoch, seq: 151 }, 1000);
      expect(last).toMatchObject({ status: 'ok', events: [{ seq: 152, data: 152 }] });
      // Only the last event is kept: one position further back is a refetch.
      expect((await log.readAfter(short, { epoch: h.epoch, seq: 150 }, 1000)).status).toBe('refetch');
      const l = await log.head(long);
      const both = await log.readAfter(long, { epoch: l.epoch, seq: 0 }, 1000);
      expect(both).toMatchObject({ status: 'ok', events: [{ data: 'a' }, { data: 'b' }] });
      await log.close();
    });

    it('touch keeps a quiet stream (epoch and history) past its TTL; untouched, it expires', async () => {
      const log = await open({ maxEvents: 10, ttlSeconds: 1 });
      const kept = `topic:${unique()}`;
      const left = `topic:${unique()}`;
      const e = await log.append(kept, 'k', 1);
      const f = await log.append(left, 'l', 1);
      // Touched every 400 ms for 2.2 s: more than twice the TTL without an event.
      for (let t = 0; t < 5; t++) {
        await new Promise((r) => setTimeout(r, 440));
        await log.touch([kept, `topic:${unique()}`]);
      }
      expect(await log.head(kept)).toEqual({ epoch: e.epoch, seq: 1 });
      const r = await log.readAfter(kept, { epoch: e.epoch, seq: 0 }, 10);
      expect(r).toMatchObject({ status: 'ok', events: [{ seq: 1, data: 'k' }] });
      expect((await log.head(left)).epoch).not.toBe(f.epoch);
      await log.close();
    });
  });
}
