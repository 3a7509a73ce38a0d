/**
 * Log archival, on by default as in the original agent: the nodes rotate
 * logs into the log queue; every interval, and soon after a file lands
 * there (inotify), the queue is archived — by the built-in archiver
 * (log-archive.ts, zeek-archiver's layout) or, given `--archive-cmd`, by
 * running `<cmd> -1 <log-queue dir> <archive dir>` (zeek-archiver's
 * one-shot convention). Runs never overlap. After each run, archived logs
 * older than the deployed configuration's `log_expire_days` are removed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../protocol/index.js';
import { archiveQueue, expireArchive } from './log-archive.js';

export interface ArchiveOptions {
  /** An external archiver; the built-in one when absent. */
  command?: string;
  intervalMs: number;
  logQueueDir: string;
  archiveDir: string;
  /** The retention in days of the configuration the agent runs (undefined or 0: keep everything). */
  expireDays?: () => number | undefined;
}

/** How long after a file lands in the queue a run starts (rotations come in bursts, one file per log). */
const SETTLE_MS = 500;

export class Archiver {
  private readonly timer: NodeJS.Timeout;
  private readonly watcher: FSWatcher | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: ArchiveOptions, private readonly log: Logger) {
    mkdirSync(options.logQueueDir, { recursive: true, mode: 0o700 });
    this.timer = setInterval(() => { void this.runOnce(); }, options.intervalMs);
    this.timer.unref();
    try {
      this.watcher = watch(options.logQueueDir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      this.watcher = undefined; // the interval remains
    }
  }

  /** One archival run; a run asked for while one is in progress follows it. */
  runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.archive().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.runOnce();
      }
    });
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.watcher?.close();
    this.again = false;
    await this.running;
  }

  private schedule(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => { this.soon = undefined; void this.runOnce(); }, SETTLE_MS);
    this.soon.unref();
  }

  private async archive(): Promise<void> {
    await this.archiveQueue();
    this.expire();
  }

  private expire(): void {
    const days = this.options.expireDays?.();
    if (days === undefined || days <= 0) return;
    const run = expireArchive(this.options.archiveDir, days);
    if (run.archived.length > 0) this.log.info({ archiveDir: this.options.archiveDir, days, files: run.archived.length }, `removed ${run.archived.length} archived logs older than ${days} days`);
    if (run.errors.length > 0) this.log.error({ archiveDir: this.options.archiveDir, errors: run.errors.slice(0, 10) }, 'log expiry failed in some directories');
  }

  private async archiveQueue(): Promise<void> {
    const { command, logQueueDir, archiveDir } = this.options;
    if (!existsSync(logQueueDir)) return;
    if (command === undefined) {
      const run = await archiveQueue(logQueueDir, archiveDir);
      if (run.archived.length > 0) this.log.info({ archiveDir, files: run.archived.length }, 'logs archived');
      if (run.errors.length > 0) this.log.error({ archiveDir, errors: run.errors.slice(0, 10) }, 'log archival failed for some files; they stay queued');
      return;
    }
    this.log.info({ command, logQueueDir, archiveDir }, 'triggering log archival');
    await new Promise<void>((resolve) => {
      execFile(command, ['-1', logQueueDir, archiveDir], { timeout: Math.max(60_000, this.options.intervalMs) }, (err, stdout, stderr) => {
        if (err) this.log.error({ command, code: (err as { code?: unknown }).code ?? null, error: err.message, stderr: stderr.slice(-2000) }, 'log archival failed');
        else this.log.info({ command, stdout: stdout.slice(-2000) }, 'log archival done');
        resolve();
      });
    });
  }
}
