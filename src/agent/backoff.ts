/**
 * Restart back-off like Zeek's Supervisor: start at `initialMs`, double every
 * `triesPerStep` consecutive failures, never above `maxMs`; a node that stayed
 * up for `resetAfterMs` starts over.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  triesPerStep: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, triesPerStep: 3, resetAfterMs: 30_000 };

export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Records a failure of a run that lasted `upMs`; returns how long to wait before the next start. */
  next(upMs: number): number {
    if (upMs >= this.options.resetAfterMs) this.failures = 0;
    const step = Math.floor(this.failures / this.options.triesPerStep);
    this.failures += 1;
    return Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(step, 30));
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
