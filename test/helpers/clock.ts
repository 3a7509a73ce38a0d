/** A clock that moves only when a test says so: timers run in time order as it advances. */
import type { Clock } from '../../src/management/request.js';

interface Timer { at: number; seq: number; fn: () => void }

export class ManualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, running every timer that comes due on the way (also those set meanwhile). */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.time = due.at;
      due.fn();
    }
    this.time = until;
  }
}
