/**
 * `<node dir>/pid.json`: what the agent needs to find a node process again
 * after its own restart — identity (pid, start time, launch token) and the
 * management port the node listens on.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '../management/private-files.js';
import type { Outcome } from '../protocol/errors.js';
import type { ProcessIdentity } from './process-identity.js';

export interface PidRecord extends ProcessIdentity {
  node: string;
  mgmtPort: number;
  launchedAt: string;
  /** Automatic restarts of the node since its deployment, up to this launch (absent in older files). */
  restarts?: number;
}

const FILE = 'pid.json';

export function writePidFile(dir: string, record: PidRecord): void {
  writePrivateFile(join(dir, FILE), `${JSON.stringify(record)}\n`);
}

export function removePidFile(dir: string): void {
  rmSync(join(dir, FILE), { force: true });
}

/** The record (`undefined` when there is none), or why it is unreadable. */
export function readPidFile(dir: string): Outcome<PidRecord | undefined> {
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), 'utf8');
  } catch {
    return { ok: true, value: undefined };
  }
  try {
    const r = JSON.parse(text) as Partial<PidRecord>;
    if (typeof r.pid === 'number' && Number.isInteger(r.pid) && r.pid > 1 && typeof r.startTime === 'string' &&
      typeof r.token === 'string' && typeof r.node === 'string' && typeof r.mgmtPort === 'number') {
      const restarts = Number.isSafeInteger(r.restarts) && r.restarts! >= 0 ? { restarts: r.restarts! } : {};
      return { ok: true, value: { pid: r.pid, startTime: r.startTime, token: r.token, node: r.node, mgmtPort: r.mgmtPort, launchedAt: String(r.launchedAt ?? ''), ...restarts } };
    }
    return { ok: false, error: `${join(dir, FILE)} lacks pid, startTime, token, node or mgmtPort` };
  } catch (err) {
    return { ok: false, error: `${join(dir, FILE)} is not JSON: ${(err as Error).message}` };
  }
}
