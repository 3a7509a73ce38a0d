/**
 * Starting one node process, step by step: its environment (the node's own
 * env, the runtime's, the cluster variables and our identity markers), the
 * files it reads, its command line (pinned to a CPU through taskset), the
 * spawn (detached, its own process group, output appended to files) and the
 * pid file that lets a later agent run find it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from '../management/index.js';
import { openPrivateAppend, writePrivateFile, type Owner } from '../management/private-files.js';
import type { Outcome } from '../protocol/errors.js';
import { writePidFile } from './pid-file.js';
import { LAUNCH_TOKEN_ENV, NODE_DIR_ENV, type ProcessIdentity } from './process-identity.js';
import { readStat } from '../management/procfs.js';
import type { GeneratedFile, LaunchPlan } from './runtimes/types.js';

/** What a node is told, the same for its launch and its script check: the agent's env, the configuration's, the runtime's, then its name and directories. */
export function nodeEnvironment(node: Node, runtimeEnv: Record<string, string>, dir: string, spoolDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env, ...node.env, ...runtimeEnv,
    CLUSTER_NODE: node.name,
    ZEEK_MANAGEMENT_STATE_DIR: dir,
    ZEEK_MANAGEMENT_SPOOL_DIR: spoolDir,
  };
}

/** A launch's environment: the node's, plus the markers by which a later agent knows the process. */
export function launchEnvironment(node: Node, plan: LaunchPlan, dir: string, spoolDir: string, token: string): NodeJS.ProcessEnv {
  return { ...nodeEnvironment(node, plan.env, dir, spoolDir), [NODE_DIR_ENV]: dir, [LAUNCH_TOKEN_ENV]: token };
}

/** Writes the runtime's files (never through a link: see private-files.ts); a node running as `owner` gets them as its own. */
export function writeNodeFiles(dir: string, files: readonly GeneratedFile[], owner?: Owner): void {
  for (const file of files) writePrivateFile(join(dir, file.name), file.content, owner ? { owner } : {});
}

/** The plan's command line, run through taskset when the node has a CPU affinity; `unpinned` says why it could not be. */
export function commandLine(node: Node, plan: LaunchPlan, taskset: string | undefined): { command: string; args: string[]; unpinned?: string } {
  if (node.cpuAffinity === undefined) return { command: plan.command, args: plan.args };
  if (!taskset) {
    return { command: plan.command, args: plan.args, unpinned: `cannot pin node ${node.name} to CPU ${node.cpuAffinity}: taskset not found; starting it unpinned` };
  }
  return { command: taskset, args: ['-c', String(node.cpuAffinity), plan.command, ...plan.args] };
}

/**
 * Spawns the node in `dir` (as `user` when given); when it cannot be
 * started, the reason is also written to its stderr file. The output files
 * are the agent's (0600, never opened through a link); the node gets their
 * descriptors.
 */
export async function spawnNode(command: string, args: readonly string[], env: NodeJS.ProcessEnv, dir: string, user?: Owner): Promise<Outcome<ChildProcess>> {
  const out = openPrivateAppend(join(dir, 'stdout'));
  let err: number;
  try {
    err = openPrivateAppend(join(dir, 'stderr'));
  } catch (e) {
    closeSync(out);
    throw e;
  }
  try {
    const child = spawn(command, args, { cwd: dir, env, detached: true, stdio: ['ignore', out, err], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    if (child.pid === undefined) {
      const reason = await new Promise<string>((resolve) => child.once('error', (e) => resolve(e.message)));
      writeSync(err, `zeek-mgmt agent: failed to start ${command}: ${reason}\n`);
      return { ok: false, error: reason };
    }
    child.unref();
    child.on('error', () => undefined);
    return { ok: true, value: child };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** Writes the pid file of a freshly spawned node; without one a later agent could not find it, so it is killed if that fails. */
export function recordLaunch(dir: string, node: string, child: ChildProcess, token: string, mgmtPort: number, restarts: number): ProcessIdentity {
  const pid = child.pid!;
  const id: ProcessIdentity = { pid, startTime: readStat(pid)?.startTime ?? '', token };
  try {
    writePidFile(dir, { ...id, node, mgmtPort, launchedAt: new Date().toISOString(), restarts });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return id;
}
