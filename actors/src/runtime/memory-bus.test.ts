import { expect, it } from 'vitest';
import { busContract } from '../testing/bus-contract.js';
import { subjectMatches } from './bus.js';
import { MemoryBus } from './memory-bus.js';

let n = 0;
busContract('MemoryBus', {
  async open() {
    const bus = new MemoryBus();
    return { a: bus, b: bus, close: () => bus.close() };
  },
  prefix: () => `t${++n}`,
});

it('subjectMatches follows NATS rules', () => {
  expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
  expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
  expect(subjectMatches('a.>', 'a')).toBe(false);
  expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
});
