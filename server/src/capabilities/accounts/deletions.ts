import type { JobQueue } from '../../jobs/index.js';
import type { Databases } from '../../storage/databases.js';
import type { CapabilityPorts } from '../operation.js';
import { accountsOf } from './accounts-node.js';

/** The payload of an account's removal job. */
export interface DeletionJob {
  userId: string;
}

// The node's queue (keyed by its Databases, as accounts-node.ts keys its state).
const queues = new WeakMap<Databases, JobQueue<DeletionJob>>();

/**
 * What follows the moment an account is deleted: every capability removes
 * its data (`userDeleted`: posts, graph edges, feeds), then the user row
 * goes. Idempotent, as a job handler must be.
 */
export async function removeAccountData(ports: CapabilityPorts, userId: string): Promise<void> {
  await ports.userDeleted(userId);
  await accountsOf(ports).rows.remove(userId);
}

/**
 * Hands the removal to the durable queue (`account-deletions`: retried with
 * backoff until it succeeds, whatever crashes meanwhile); without the
 * queue (a registry run without `start`) it runs here.
 */
export async function scheduleRemoval(ports: CapabilityPorts, userId: string): Promise<void> {
  const queue = queues.get(ports.db);
  if (queue) await queue.enqueue(`account-deletion-${userId}`, { userId });
  else await removeAccountData(ports, userId);
}

/** The consumer of removals, started with the node. */
export async function startRemovals(ports: CapabilityPorts): Promise<{ stop(): Promise<void> }> {
  const queue = await ports.openQueue<DeletionJob>('account-deletions', {
    maxAttempts: 20,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
  });
  queues.set(ports.db, queue);
  const consumer = queue.consume((job) => removeAccountData(ports, job.payload.userId), {
    concurrency: 2,
    onDead: async (job, err) =>
      ports.log.error(
        { err, job: job.id },
        'an account removal failed on every attempt: its data stays until the job is retried',
      ),
  });
  return {
    async stop() {
      queues.delete(ports.db);
      await consumer.stop();
      await queue.close();
    },
  };
}
