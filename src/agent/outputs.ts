/**
 * A node's stdout/stderr files: rotated before each launch so the output of
 * the last few runs (crashes included) stays for operators, and the first
 * failed run's kept apart, and read back as
 * the last lines for deploy results. A starting node's stdout writes are
 * watched (inotify): they hint that it may be listening.
 */
import { existsSync, renameSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { NodeOutputs } from '../management/index.js';
import { readTail } from '../management/file-tail.js';
import { writePrivateFile } from '../management/private-files.js';

export const STREAMS = ['stdout', 'stderr'] as const;
export const KEEP_ROTATED = 3;
export const TAIL_LINES = 100;

/** stdout → stdout.1 → stdout.2 …, keeping `keep` old files; empty files are not rotated. */
export function rotateOutputs(dir: string, keep = KEEP_ROTATED): void {
  for (const stream of STREAMS) {
    const base = join(dir, stream);
    if (!existsSync(base) || statSync(base).size === 0) continue;
    rmSync(`${base}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      if (existsSync(`${base}.${i}`)) renameSync(`${base}.${i}`, `${base}.${i + 1}`);
    }
    renameSync(base, `${base}.1`);
  }
}

/** The most of a failed run's output kept apart: its end, where the error is. */
const FIRST_FAILURE_BYTES = 1024 * 1024;

/**
 * Keeps the output of a node's first failed run as `stdout.first` /
 * `stderr.first` (once: later failures of a crash loop leave it), so the
 * first error survives the rotation of the runs after it. Read and written
 * never through a link a node may have planted in its directory.
 */
export function keepFirstFailure(dir: string): void {
  for (const stream of STREAMS) {
    const base = join(dir, stream);
    if (existsSync(`${base}.first`) || !existsSync(base)) continue;
    writePrivateFile(`${base}.first`, readTail(base, FIRST_FAILURE_BYTES));
  }
}

/** A node's first launch of a deployment drops an earlier one's. */
export function forgetFirstFailure(dir: string): void {
  for (const stream of STREAMS) rmSync(join(dir, `${stream}.first`), { force: true });
}

/** The last `lines` lines of a file ('' when it does not exist, or is a link: a node must not make the agent read another file). */
export function tailFile(path: string, lines = TAIL_LINES, maxBytes = 256 * 1024): string {
  const text = readTail(path, maxBytes).replace(/\n$/, '');
  return text === '' ? '' : text.split('\n').slice(-lines).join('\n');
}

/** The last lines of the node's current stdout and stderr. */
export function readOutputs(dir: string, rotated = 0): NodeOutputs {
  const suffix = rotated > 0 ? `.${rotated}` : '';
  return { stdout: tailFile(join(dir, `stdout${suffix}`)), stderr: tailFile(join(dir, `stderr${suffix}`)) };
}

/**
 * Calls `onWrite` whenever something is written to the stdout file in `dir`,
 * until the returned function is called. Without a watch (inotify limits),
 * never calls: a hint only.
 */
export function watchStdout(dir: string, onWrite: () => void): () => void {
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, (_event, file) => { if (file === 'stdout') onWrite(); });
  } catch {
    return () => undefined;
  }
  watcher.on('error', () => watcher.close());
  return () => watcher.close();
}
