/**
 * Bounds how many ACCESS_DENIED events one token can make the registry write: the first `limit`
 * refusals in a window are recorded one by one; the rest are counted, and at the end of the
 * window one summary event records how many there were. The evidence is kept, the chain is not
 * flooded. Counted per process: N processes record at most N × limit events per window.
 */
export class DeniedAuditLimiter {
  private readonly windows = new Map<string, { start: Date; recorded: number; suppressed: number; actor: string }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => Date,
    /** Writes the summary of a window in which refusals were only counted. */
    private readonly summarize: (s: { tokenId: string; actor: string; suppressed: number; since: Date; until: Date }) => Promise<void>,
  ) {}

  /** True: record this refusal as its own event. False: it is counted for the window's summary. */
  admit(tokenId: string, actor: string): boolean {
    let w = this.windows.get(tokenId);
    if (!w) {
      w = { start: this.now(), recorded: 0, suppressed: 0, actor };
      this.windows.set(tokenId, w);
      const window = w;
      setTimeout(() => this.close(tokenId, window), this.windowMs).unref();
    }
    if (w.recorded < this.limit) {
      w.recorded++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  private close(tokenId: string, w: { start: Date; suppressed: number; actor: string }): void {
    this.windows.delete(tokenId);
    if (w.suppressed === 0) return;
    this.summarize({ tokenId, actor: w.actor, suppressed: w.suppressed, since: w.start, until: this.now() }).catch(() => {
      // The store is unreachable: the refusals themselves were answered; only their count is lost.
    });
  }
}
