import { configDefaults, defineConfig } from 'vitest/config';

// Three projects:
// - `unit` tests sit next to the code and need no network;
// - `integration` tests (in each package's test/ folder) talk to the real
//   PostgreSQL, Redis and NATS on this machine and to servers started on
//   port 0; they mostly wait on sockets and timers, so two files run at
//   once (each test node has its own namespace and port);
// - `heavy` tests start processes or several nodes, build bundles, drive
//   load or race a deadline: they take both cores or measure time, so they
//   run afterwards, one file at a time.
const HEAVY = [
  'load-tests/test/**/*.test.ts',
  'client-sdk/test/browser-build.test.ts',
  'server/test/dockerfile.test.ts',
  'server/test/npm-start.test.ts',
  'server/test/node-start-failure.test.ts',
  'server/test/sdk-package.test.ts',
  // Several nodes in one process, asks across them under deadlines.
  'server/test/cluster*.test.ts',
  'server/test/*-cluster*.test.ts',
  'server/test/gateway-two-nodes.test.ts',
  'server/test/push-nodes.test.ts',
  'server/test/stream-bus-outage.test.ts',
  // Throughput against a deadline (slow consumers) and CPU-bound property runs.
  'server/test/gateway-limits.test.ts',
  'server/test/feed-property.test.ts',
];
const integration = {
  globalSetup: ['server/test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['*/src/**/*.test.ts'],
          testTimeout: 10_000,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...HEAVY],
          ...integration,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'heavy',
          include: HEAVY,
          ...integration,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
