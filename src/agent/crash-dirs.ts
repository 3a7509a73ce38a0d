/**
 * Crash evidence: when a node exits unexpectedly, what it left is copied
 * to `<state dir>/crashes/<node>/<time>-<pid>/` — the tails of its stdout
 * and stderr, the scripts it had loaded, how it ended (`exit.json`) and a
 * listing of its directory (core files show there) — and the newest `keep`
 * of these are kept per node. They live outside the node directory, so no
 * restart or redeploy touches them; `diag` ships them.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExitRecord } from '../management/index.js';
import { tailFile } from './outputs.js';
import { readTail } from '../management/file-tail.js';

export const DEFAULT_KEEP_CRASHES = 5;
/** How much of stdout and stderr a crash directory keeps (their ends). */
const OUTPUT_TAIL_BYTES = 1024 * 1024;
const OUTPUT_TAIL_LINES = 20_000;
/** Files of the node directory worth keeping as they were. */
const COPIED = ['loaded-scripts'];
const COPIED_MAX_BYTES = 4 * 1024 * 1024;

export interface CrashInfo extends ExitRecord {
  node: string;
  pid: number;
  uptimeMs: number;
  configId: string;
}

export const crashRoot = (stateDir: string, node: string): string => join(stateDir, 'crashes', node);

/** Saves the evidence of one crash and prunes the oldest beyond `keep`; returns the new directory. */
export function saveCrash(stateDir: string, nodeDir: string, info: CrashInfo, keep: number): string {
  const root = crashRoot(stateDir, info.node);
  const dir = join(root, `${info.time.replace(/:/g, '-')}-${info.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const stream of ['stdout', 'stderr']) {
    writeFileSync(join(dir, stream), `${tailFile(join(nodeDir, stream), OUTPUT_TAIL_LINES, OUTPUT_TAIL_BYTES)}\n`);
  }
  // Read, never copied: the node's directory may belong to its user, who could have put a link or a pipe there.
  for (const name of COPIED) {
    const text = readTail(join(nodeDir, name), COPIED_MAX_BYTES);
    if (text) writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dir, 'exit.json'), `${JSON.stringify(info, null, 2)}\n`);
  writeFileSync(join(dir, 'files.txt'), listing(nodeDir));
  for (const old of crashDirs(stateDir, info.node).slice(keep)) rmSync(old, { recursive: true, force: true });
  return dir;
}

/** A node's crash directories, newest first (their names start with the time). */
export function crashDirs(stateDir: string, node: string): string[] {
  const root = crashRoot(stateDir, node);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.sort().reverse().map((n) => join(root, n));
}

/** `size  mtime  name` for each entry of a directory (links as themselves, `name -> …`; not followed). */
export function listing(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return '\n';
  }
  return names.map((name) => {
    try {
      const st = lstatSync(join(dir, name));
      return `${String(st.size).padStart(12)}  ${st.mtime.toISOString()}  ${name}${st.isDirectory() ? '/' : st.isSymbolicLink() ? ' -> …' : ''}`;
    } catch {
      return `${''.padStart(12)}  ${''.padStart(24)}  ${name} (gone)`;
    }
  }).join('\n') + '\n';
}
