/**
 * What Linux's /proc says about a process: its start time (field 22 of
 * /proc/<pid>/stat, fixed at fork, so a reused pid never matches), its
 * process group, whether it is a zombie, and its environment. The agent uses
 * these to recognise its own node processes across restarts.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks since boot when the process started. */
  startTime: string;
  /** CPU time used so far (user + system), in clock ticks. */
  cpuTicks: number;
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux the kernel exposes through /proc). */
export const CLOCK_TICKS_PER_S = 100;

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  // Fields 14 and 15 (utime, stime); rest[0] is field 3.
  return { state, pgrp, startTime, cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), undefined when unreadable. */
export function readRssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export function readEnviron(pid: number): Map<string, string> | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** The process with this pid is the one that started at `startTime` and has not exited. */
export function isLive(pid: number, startTime: string): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Pids of live processes (readable by us) whose environment has `key` set to a value accepted by `match`. */
export function findByEnv(key: string, match: (value: string) => boolean): { pid: number; env: Map<string, string> }[] {
  const found: { pid: number; env: Map<string, string> }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const env = readEnviron(pid);
    const value = env?.get(key);
    if (value === undefined || !match(value)) continue;
    const stat = readStat(pid);
    if (stat && stat.state !== 'Z' && stat.state !== 'X') found.push({ pid, env: env! });
  }
  return found;
}
