/**
 * Agent start-up: what an earlier run left behind. The stored configuration
 * (refused when it no longer validates), and in the node directories the
 * processes to adopt — pid file, start time and launch token all match, and
 * the stored configuration still runs that node — and the ones to stop: the
 * rest, and strays carrying our node-dir marker without a pid file (killed
 * between spawn and pid file).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../protocol/index.js';
import { readPidFile, removePidFile, type PidRecord } from './pid-file.js';
import { LAUNCH_TOKEN_ENV, NODE_DIR_ENV, terminate, verifyIdentity } from './process-identity.js';
import { findByEnv, readStat } from '../management/procfs.js';
import { loadAgentState, type AgentState } from './state-store.js';
import { validateConfiguration } from './validate.js';
import type { EnvPolicy } from './env-policy.js';

/** The configuration this agent ran before, if any, and its stopped nodes; throws with the way out when it is invalid. */
export function storedState(stateDir: string, instance: string, policy: EnvPolicy): AgentState {
  const state = loadAgentState(stateDir);
  const config = state.configuration;
  const problems = config ? validateConfiguration(config, instance, policy) : [];
  if (problems.length > 0) {
    throw new Error(`stored configuration ${config!.id} in ${stateDir} is invalid (${problems.join('; ')}); move agent-state.json away to start without it`);
  }
  return state;
}

export interface Leftovers {
  /** Node name → the verified process to take over. */
  adopt: Map<string, PidRecord>;
  /** Stops in progress of everything else found. */
  stopping: Promise<unknown>[];
}

/** Sorts what runs under `nodesRoot` into processes to adopt (nodes in `wanted`) and stops the rest. */
export function takeStock(nodesRoot: string, wanted: ReadonlySet<string>, log: Logger, stopGraceMs: number): Leftovers {
  const found: Leftovers = { adopt: new Map(), stopping: [] };
  const seen = new Set<number>();
  for (const dirName of readdirSync(nodesRoot)) {
    const dir = join(nodesRoot, dirName);
    // Only directories the agent made: a link here could point at a pid file elsewhere.
    if (!lstatSync(dir).isDirectory()) continue;
    const record = verifiedRecord(dir, log);
    if (!record) continue;
    seen.add(record.pid);
    if (wanted.has(record.node) && record.node === dirName && !found.adopt.has(record.node)) {
      found.adopt.set(record.node, record);
      continue;
    }
    log.warn({ node: record.node, pid: record.pid }, 'stopping a node the current configuration does not run');
    found.stopping.push(terminate(record, stopGraceMs).then(() => removePidFile(dir)));
  }
  found.stopping.push(...stopStrays(nodesRoot, seen, log, stopGraceMs));
  return found;
}

/** The pid file's record if its process still runs; unreadable and stale pid files are removed. */
function verifiedRecord(dir: string, log: Logger): PidRecord | undefined {
  const read = readPidFile(dir);
  if (!read.ok) {
    log.warn({ dir, problem: read.error }, 'removing unreadable pid file');
    removePidFile(dir);
    return undefined;
  }
  const record = read.value;
  if (record === undefined) return undefined;
  const verdict = verifyIdentity(record);
  if (!verdict.ok) {
    log.info({ node: record.node, pid: record.pid, reason: verdict.reason }, 'node from an earlier run is gone');
    removePidFile(dir);
    return undefined;
  }
  return record;
}

/** Processes carrying our node-dir marker that no pid file accounts for. */
function stopStrays(nodesRoot: string, known: ReadonlySet<number>, log: Logger, stopGraceMs: number): Promise<unknown>[] {
  const prefix = `${nodesRoot}/`;
  const stopping: Promise<unknown>[] = [];
  for (const { pid, env } of findByEnv(NODE_DIR_ENV, (v) => v.startsWith(prefix))) {
    if (known.has(pid)) continue;
    const stat = readStat(pid);
    const token = env.get(LAUNCH_TOKEN_ENV);
    if (!stat || token === undefined) continue;
    log.warn({ pid, dir: env.get(NODE_DIR_ENV) }, 'stopping a stray node process without pid file');
    stopping.push(terminate({ pid, startTime: stat.startTime, token }, stopGraceMs));
  }
  return stopping;
}
