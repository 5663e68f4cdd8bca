/** What tools outside the server package (benchmarks) need to run actor cluster nodes. */
export { NatsBus } from './adapters/nats-bus.js';
export { NatsShardMapStore } from './adapters/nats-shard-map.js';
export { SqlStateStore, stateStoreMigrations } from './adapters/sql-state-store.js';
export { type NodeEvent, NodeProcess, type NodeProcessOptions } from './cli/local-cluster.js';
