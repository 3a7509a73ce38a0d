/**
 * CPU and memory of node processes, from /proc: CPU % over the last few
 * seconds (samples taken every SAMPLE_INTERVAL_MS by whoever owns the
 * meter, compared with a reading at the time of the question), and the
 * resident set size. A process seen for the first time gets its average
 * since it started.
 */
import { CLOCK_TICKS_PER_S, readRssBytes, readStat } from '../management/procfs.js';

export const SAMPLE_INTERVAL_MS = 5000;
/** A sample younger than this is too short a window for a meaningful percentage. */
const MIN_WINDOW_MS = 1000;

export interface Usage {
  cpuPercent?: number;
  rssBytes?: number;
}

interface Sample { at: number; ticks: number }

export class CpuMeter {
  /** Per pid and start time (a reused pid is another process): the last two samples. */
  private readonly samples = new Map<string, Sample[]>();

  /** Takes a sample of each process; forgets processes not in the list. */
  sample(processes: readonly { pid: number; startTime: string }[], now = Date.now()): void {
    const seen = new Set<string>();
    for (const p of processes) {
      const stat = readStat(p.pid);
      if (!stat || stat.startTime !== p.startTime) continue;
      const key = `${p.pid}/${p.startTime}`;
      seen.add(key);
      const list = this.samples.get(key) ?? [];
      list.push({ at: now, ticks: stat.cpuTicks });
      this.samples.set(key, list.slice(-2));
    }
    for (const key of this.samples.keys()) if (!seen.has(key)) this.samples.delete(key);
  }

  /** CPU % (of one CPU) and RSS of a process now; empty when it is gone. `startedAt`: ms since the epoch. */
  usage(pid: number, startTime: string, startedAt: number, now = Date.now()): Usage {
    const stat = readStat(pid);
    if (!stat || stat.startTime !== startTime) return {};
    const usage: Usage = {};
    const rss = readRssBytes(pid);
    if (rss !== undefined) usage.rssBytes = rss;
    // The newest sample that leaves a long enough window; else the whole life of the process.
    const window = [...this.samples.get(`${pid}/${startTime}`) ?? []].reverse().find((s) => now - s.at >= MIN_WINDOW_MS) ?? { at: startedAt, ticks: 0 };
    const elapsedMs = now - window.at;
    if (elapsedMs > 0) usage.cpuPercent = round1(((stat.cpuTicks - window.ticks) / CLOCK_TICKS_PER_S) * 1000 * 100 / elapsedMs);
    return usage;
  }
}

const round1 = (x: number): number => Math.max(0, Math.round(x * 10) / 10);
