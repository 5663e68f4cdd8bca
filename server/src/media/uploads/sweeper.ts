import type { Logger } from '../../log.js';
import type { UploadRepo } from './upload-repo.js';
import type { UploadService } from './upload-service.js';

export interface SweeperOptions {
  intervalMs: number;
  /** A `completing` upload untouched this long was cut off by a crash: it goes back to pending. */
  stuckMs?: number;
  /** Store cleanups retried this many times, then left to the bucket's lifecycle rule. */
  maxCleanupAttempts?: number;
  batch?: number;
}

/**
 * Aborts uploads left open past their expiry and deletes their bytes, retries
 * store cleanups that failed, releases uploads stuck completing, and deletes
 * a completed single PUT's key once more after its URLs expired. Safe on
 * every node at once: each change is a compare-and-set on the record.
 */
export class UploadSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly service: UploadService,
    private readonly repo: UploadRepo,
    private readonly log: Logger,
    private readonly opts: SweeperOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.sweepOnce()
        .catch((err: unknown) => this.log.error({ err }, 'upload sweep failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async sweepOnce(): Promise<{ expired: number; retried: number; released: number; rechecked: number }> {
    const now = this.service.now();
    const max = this.opts.maxCleanupAttempts ?? 5;
    const due = await this.repo.sweepable(
      new Date(now),
      new Date(now - (this.opts.stuckMs ?? 600_000)),
      max,
      this.opts.batch ?? 100,
    );
    const counts = { expired: 0, retried: 0, released: 0, rechecked: 0 };
    for (const rec of due) {
      if (rec.status === 'completed') {
        if (rec.recheckAt && rec.recheckAt.getTime() < now) {
          await this.service.recheck(rec, this.opts.intervalMs);
          counts.rechecked++;
        }
        continue;
      }
      if (rec.status === 'completing') {
        if (await this.repo.transition(rec.id, ['completing'], 'pending', new Date(now))) counts.released++;
        continue;
      }
      let target = rec;
      if ((rec.status === 'pending' || rec.status === 'stored') && rec.expiresAt.getTime() < now) {
        const next = await this.repo.transition(rec.id, ['pending', 'stored'], 'expired', new Date(now), {
          cleanupPending: true,
        });
        if (!next) continue;
        target = next;
        counts.expired++;
      } else if (rec.cleanupPending) counts.retried++;
      else continue;
      await this.service.cleanup(target);
      if (target.cleanupAttempts + 1 >= max) {
        const after = await this.repo.get(rec.id);
        if (after?.cleanupPending) {
          this.log.error(
            { uploadId: rec.id, key: rec.objectKey },
            'giving up cleaning an upload; the bucket lifecycle rule (AbortIncompleteMultipartUpload) must catch it',
          );
        }
      }
    }
    return counts;
  }
}
