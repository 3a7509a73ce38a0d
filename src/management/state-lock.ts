/**
 * One daemon of a kind per state directory: `<state dir>/<kind>.lock` names
 * the live one (pid and start time). A second agent on the same directory
 * would duplicate every node, a second controller would write its
 * configurations into the first one's database; so either refuses to start.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Outcome } from '../protocol/errors.js';
import { isLive, readStat } from './procfs.js';

/** Errors of a full disk or quota, after which the lock file exists but is empty. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

export class StateLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock or returns why it cannot. */
  static acquire(stateDir: string, kind: 'agent' | 'controller'): Outcome<StateLock> {
    const fail = (error: string): Outcome<StateLock> => ({ ok: false, error });
    const path = join(stateDir, `${kind}.lock`);
    const mine = `${JSON.stringify({ pid: process.pid, startTime: readStat(process.pid)?.startTime ?? '' })}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // 'wx': only one of two daemons starting at once can create it.
        const fd = openSync(path, 'wx', 0o600);
        try {
          writeSync(fd, mine);
        } catch (err) {
          // A full disk: the (empty) file still claims the directory; the daemon starts and serves what it stored.
          if (!DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '')) {
            closeSync(fd);
            rmSync(path, { force: true });
            throw err;
          }
        }
        closeSync(fd);
        return { ok: true, value: new StateLock(path) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return fail(`cannot lock state directory ${stateDir}: ${(err as Error).message}`);
      }
      const holder = readHolder(path);
      if (holder && holder.pid !== process.pid && isLive(holder.pid, holder.startTime)) {
        return fail(`another ${kind} (pid ${holder.pid}) already uses state directory ${stateDir}`);
      }
      rmSync(path, { force: true });
    }
    return fail(`cannot lock state directory ${stateDir}: another ${kind} is starting on it`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

function readHolder(path: string): { pid: number; startTime: string } | undefined {
  try {
    const held = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; startTime?: unknown };
    return typeof held.pid === 'number' && typeof held.startTime === 'string' ? { pid: held.pid, startTime: held.startTime } : undefined;
  } catch {
    return undefined;
  }
}
