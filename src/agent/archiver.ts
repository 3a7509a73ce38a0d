/**
 * Log archival as the original agent does it: every interval, when the log
 * queue directory exists, run `<cmd> -1 <log-queue dir> <archive dir>`
 * (zeek-archiver's one-shot convention) and log how it went. Runs never
 * overlap.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Logger } from '../protocol/index.js';

export interface ArchiveOptions {
  command: string;
  intervalMs: number;
  logQueueDir: string;
  archiveDir: string;
}

export class Archiver {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ArchiveOptions, private readonly log: Logger) {
    this.timer = setInterval(() => { void this.runOnce(); }, options.intervalMs);
    this.timer.unref();
  }

  /** One archival run (skipped while one is in progress or when there is no log queue). */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    const { command, logQueueDir, archiveDir } = this.options;
    if (!existsSync(logQueueDir)) {
      this.log.debug({ logQueueDir }, 'no log queue directory; nothing to archive');
      return Promise.resolve();
    }
    this.log.info({ command, logQueueDir, archiveDir }, 'triggering log archival');
    this.running = new Promise<void>((resolve) => {
      execFile(command, ['-1', logQueueDir, archiveDir], { timeout: Math.max(60_000, this.options.intervalMs) }, (err, stdout, stderr) => {
        if (err) this.log.error({ command, code: (err as { code?: unknown }).code ?? null, error: err.message, stderr: stderr.slice(-2000) }, 'log archival failed');
        else this.log.info({ command, stdout: stdout.slice(-2000) }, 'log archival done');
        this.running = undefined;
        resolve();
      });
    });
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
