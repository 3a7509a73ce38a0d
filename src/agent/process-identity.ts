/**
 * A node process the agent trusts: its pid, its start time and the per-launch
 * token placed in its environment. Every signal is preceded by a check that
 * the pid still names that same process, so a reused pid is never signalled.
 */
import { isLive, readEnviron, readStat } from '../management/procfs.js';

/** Environment variable carrying the per-launch token. */
export const LAUNCH_TOKEN_ENV = 'ZEEK_MGMT_LAUNCH_TOKEN';
/** Environment variable naming the node directory (finds strays after a crash between spawn and pid file). */
export const NODE_DIR_ENV = 'ZEEK_MGMT_NODE_DIR';

export interface ProcessIdentity {
  pid: number;
  startTime: string;
  token: string;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Whether the live process `pid` is the one described by `id` (start time and token both match). */
export function verifyIdentity(id: ProcessIdentity): Verdict {
  const stat = readStat(id.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return { ok: false, reason: `process ${id.pid} is gone` };
  if (stat.startTime !== id.startTime) return { ok: false, reason: `pid ${id.pid} now belongs to another process (start time ${stat.startTime}, expected ${id.startTime})` };
  const env = readEnviron(id.pid);
  if (env?.get(LAUNCH_TOKEN_ENV) !== id.token) return { ok: false, reason: `process ${id.pid} does not carry this launch's token` };
  return { ok: true };
}

export function isRunning(id: ProcessIdentity): boolean {
  return isLive(id.pid, id.startTime);
}

/** Sends a signal to the process (and its group when it leads one), only if it is still the same process. */
export function signalProcess(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  const stat = readStat(id.pid);
  if (!stat || stat.startTime !== id.startTime || stat.state === 'Z') return false;
  try {
    process.kill(stat.pgrp === id.pid ? -id.pid : id.pid, signal);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves true once the process has exited, false if it still runs after
 * `timeoutMs`. Polls /proc; `exited` (a child's exit event) ends a wait early.
 */
export async function waitForExit(id: ProcessIdentity, timeoutMs: number, exited?: Promise<unknown>, pollMs = 25): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isRunning(id)) {
    if (Date.now() >= until) return false;
    await (exited ? Promise.race([exited, sleep(pollMs)]) : sleep(pollMs));
  }
  return true;
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone;
 * returns whether SIGKILL was needed. `exited`: see waitForExit.
 */
export async function terminate(id: ProcessIdentity, graceMs: number, exited?: Promise<unknown>): Promise<{ killed: boolean }> {
  if (!signalProcess(id, 'SIGTERM')) return { killed: false };
  if (await waitForExit(id, graceMs, exited)) return { killed: false };
  signalProcess(id, 'SIGKILL');
  await waitForExit(id, 5000, exited);
  return { killed: true };
}
