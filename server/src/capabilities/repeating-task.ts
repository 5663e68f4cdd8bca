/**
 * Runs `task` after `firstMs`, then `everyMs` after each run ENDS (runs never
 * overlap; a slow run delays the next), until stopped. A failed run is
 * handed to `onError` and the next runs as planned. `stop` cancels the next
 * run and waits for one under way (a task that loops should read `stopped`
 * between its steps). The timers do not keep the process alive.
 */
export function startRepeatingTask(
  task: (stopped: () => boolean) => Promise<unknown>,
  o: { firstMs: number; everyMs: number; onError: (err: unknown) => void },
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const next = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = task(() => stopped)
        .then(
          () => undefined,
          (err: unknown) => o.onError(err),
        )
        .finally(() => {
          running = undefined;
          next(o.everyMs);
        });
    }, ms);
    timer.unref();
  };
  next(o.firstMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
