/**
 * A small tmpfs to fill up: a full disk on demand. Mounting needs root (or
 * CAP_SYS_ADMIN); where it is not permitted, `mountTmpfs` says why and the
 * test skips visibly. Every mount is unmounted by `unmountAll`, even after
 * a failure (lazily, should a process still hold a file there).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted = new Set<string>();

export function mountTmpfs(bytes: number): { ok: true; dir: string } | { ok: false; why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'zeek-mgmt-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { ok: false, why: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})` };
  }
  mounted.add(dir);
  return { ok: true, dir };
}

export function unmountAll(): void {
  for (const dir of mounted) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
  mounted.clear();
}

/** Fills the file system at `dir` with `file` until it is full; returns the bytes written. */
export function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024, 0x78);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // Then byte by byte what is left of the last block.
    try {
      for (;;) written += writeSync(fd, chunk, 0, 1);
    } catch { /* full */ }
  } finally {
    closeSync(fd);
  }
  return written;
}
