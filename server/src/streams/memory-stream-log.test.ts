import { expect, it } from 'vitest';
import { MemoryStreamLog } from './memory-stream-log.js';
import { streamLogContract } from './stream-log-contract.js';

let n = 0;
streamLogContract(
  'MemoryStreamLog',
  async (o) => new MemoryStreamLog(o),
  () => `m${++n}`,
);

it('starts a new epoch after the TTL passes without events', async () => {
  let now = 0;
  const log = new MemoryStreamLog({ maxEvents: 10, ttlSeconds: 10 }, () => now);
  const e1 = await log.append('topic:x', 1, 0);
  now = 11_000;
  const h = await log.head('topic:x');
  expect(h.epoch).not.toBe(e1.epoch);
  expect(h.seq).toBe(0);
  expect((await log.readAfter('topic:x', { epoch: e1.epoch, seq: 1 }, 10)).status).toBe('refetch');
  await log.close();
});
