/** Test kits for adapters of the actor runtime's ports: run them against every adapter. */
export { type BusContractHarness, busContract } from './testing/bus-contract.js';
export { type IdempotencyReplayHarness, idempotencyReplaySuite } from './testing/idempotency-replay.js';
export { type PoisonedWritesHarness, poisonedWritesSuite } from './testing/poisoned-writes.js';
export {
  type ShardMapStoreContractHarness,
  shardMapStoreContract,
} from './testing/shard-map-store-contract.js';
export { type StateStoreContractHarness, stateStoreContract } from './testing/state-store-contract.js';
