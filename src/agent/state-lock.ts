/**
 * One agent per state directory: `<state dir>/agent.lock` names the live
 * agent (pid and start time); a second agent on the same directory would
 * duplicate every node, so it refuses to start.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLive, readStat } from './procfs.js';

export class StateLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock or returns why it cannot. */
  static acquire(stateDir: string): StateLock | string {
    const path = join(stateDir, 'agent.lock');
    try {
      const held = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number; startTime?: string };
      if (typeof held.pid === 'number' && typeof held.startTime === 'string' && held.pid !== process.pid && isLive(held.pid, held.startTime)) {
        return `another agent (pid ${held.pid}) already uses state directory ${stateDir}`;
      }
    } catch {
      // no lock, or an unreadable one: take it
    }
    writeFileSync(path, `${JSON.stringify({ pid: process.pid, startTime: readStat(process.pid)?.startTime ?? '' })}\n`);
    return new StateLock(path);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
