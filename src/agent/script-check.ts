/**
 * zeekctl's `check`, per node: the node's scripts parsed by its runtime
 * (`zeek -a` with the node's own command line, generated files and
 * environment) in a scratch directory, without starting anything. Every
 * deploy runs it for all of the instance's nodes before it stops the
 * running ones, so a script error never takes a working cluster down.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterLayout } from '../management/cluster-layout.js';
import { BUNDLE_DIR } from '../management/bundle.js';
import type { Node, NodeOutputs } from '../management/index.js';
import type { Outcome } from '../protocol/errors.js';
import { makePrivateDir, type Owner } from '../management/private-files.js';
import { nodeEnvironment, writeNodeFiles } from './launch.js';
import type { NodeRuntime } from './runtimes/index.js';

export type CheckOutcome = { ok: true } | { ok: false; error: string; outputs: NodeOutputs };

export interface CheckContext {
  runtime: NodeRuntime;
  layout: ClusterLayout;
  /** Scratch directories are made under it, one per node, and removed afterwards. */
  checkRoot: string;
  spoolDir: string;
  logQueueDir: string;
  timeoutMs: number;
  /** Unpacks the layout's script bundle into a directory (as for a launch). */
  installBundle(hash: string, target: string): Promise<Outcome<number>>;
  /** Checks run as the nodes' user, in a directory of theirs. */
  nodeUser?: Owner;
  /** Mode of checkRoot (0711 when nodes run as another user). */
  dirMode?: number;
}

/** Output kept for a result: the tail of each stream. */
const KEEP_BYTES = 16 * 1024;
const tail = (text: string): string => (text.length > KEEP_BYTES ? text.slice(-KEEP_BYTES) : text).replace(/\n$/, '');

/** The first line worth quoting: an error line, else the last line of stderr. */
function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\b(error|fatal)\b/i.test(l)) ?? lines.at(-1) ?? '';
}

export async function checkNode(ctx: CheckContext, node: Node): Promise<CheckOutcome> {
  const dir = join(ctx.checkRoot, node.name);
  makePrivateDir(ctx.checkRoot, { mode: ctx.dirMode ?? 0o700 });
  rmSync(dir, { recursive: true, force: true });
  makePrivateDir(dir, ctx.nodeUser ? { owner: ctx.nodeUser } : {});
  try {
    if (ctx.layout.bundle !== undefined) {
      const installed = await ctx.installBundle(ctx.layout.bundle, join(dir, BUNDLE_DIR));
      if (!installed.ok) return { ok: false, error: installed.error, outputs: { stdout: '', stderr: installed.error } };
    }
    const launch = { node, layout: ctx.layout, nodeDir: dir, spoolDir: ctx.spoolDir, logQueueDir: ctx.logQueueDir, mgmtHost: '127.0.0.1', mgmtPort: 1 };
    const verdict = ctx.runtime.check(launch);
    if (!('run' in verdict)) return verdict.ok ? verdict : { ...verdict, outputs: { stdout: '', stderr: verdict.error } };
    const plan = verdict.run;
    writeNodeFiles(dir, plan.files, ctx.nodeUser);
    const env = nodeEnvironment(node, plan.env, dir, ctx.spoolDir);
    return await new Promise<CheckOutcome>((resolve) => {
      const user = ctx.nodeUser ? { uid: ctx.nodeUser.uid, gid: ctx.nodeUser.gid } : {};
      execFile(plan.command, plan.args, { cwd: dir, env, timeout: ctx.timeoutMs, maxBuffer: 4 * 1024 * 1024, ...user }, (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const outputs = { stdout: tail(stdout), stderr: tail(stderr) };
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const why = e.killed ? `did not finish within ${ctx.timeoutMs} ms`
          : typeof e.code === 'string' ? `could not run ${plan.command}: ${e.message}`
            : firstError(stderr) || `exited with code ${String(e.code)}`;
        resolve({ ok: false, error: why, outputs });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
