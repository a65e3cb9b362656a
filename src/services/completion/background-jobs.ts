/**
 * Work a request starts and does not wait for (verifying a large upload). Each job gets an abort
 * signal; stop() aborts every job and waits until all have ended, so the composition root can
 * close the stores after it (SIGTERM). A job must leave nothing half-done that a retry cannot finish.
 */
/** Why a job was stopped by stop(): a shutdown, not a failure. */
export class ShutdownError extends Error {
  constructor() {
    super('the registry is shutting down');
  }
}

export class BackgroundJobs {
  private readonly running = new Set<Promise<void>>();
  private readonly controller = new AbortController();

  /** Starts `job` now; its errors go to `onError` (`stoppedByShutdown`: stop() ended it). Refused once stop() was called. */
  start(job: (signal: AbortSignal) => Promise<void>, onError: (err: unknown, stoppedByShutdown: boolean) => void): boolean {
    if (this.controller.signal.aborted) return false;
    const run = job(this.controller.signal)
      .catch((err: unknown) => onError(err, this.controller.signal.aborted))
      .finally(() => this.running.delete(run));
    this.running.add(run);
    return true;
  }

  async stop(): Promise<void> {
    this.controller.abort(new ShutdownError());
    await Promise.allSettled([...this.running]);
  }
}
