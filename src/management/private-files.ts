/**
 * Files and directories only the daemon's user may read: state directories
 * 0700, files 0600 (configurations hold env secrets; logs hold what peers
 * sent). Nothing here follows a symbolic link it did not make: a file is
 * opened with O_NOFOLLOW, or written under a fresh temporary name created
 * with O_EXCL and renamed into place (rename replaces a link, it never
 * writes through it), and a directory that is a link is refused.
 */
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
const STICKY = 0o1000;

/** Who owns what is made for a node when nodes run as another user (`--node-user`). */
export interface Owner { uid: number; gid: number }

/**
 * Makes `dir` (and missing parents) and sets its mode (0700 by default). An
 * existing `dir` that is a symbolic link or not a directory is refused,
 * unless `followLink` (a directory the operator named, which may be a link).
 * A shared directory (sticky bit, like /tmp) is refused rather than made
 * private; one owned by another user keeps its mode.
 */
export function makePrivateDir(dir: string, options: { mode?: number; followLink?: boolean; owner?: Owner } = {}): void {
  const mode = options.mode ?? PRIVATE_DIR_MODE;
  mkdirSync(dirname(dir), { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink() && !options.followLink) throw new Error(`${dir} is a symbolic link; refusing to follow it`);
  if (!st.isSymbolicLink() && !st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  const target = st.isSymbolicLink() ? statSync(dir) : st;
  if (!target.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (target.mode & STICKY) throw new Error(`${dir} is a shared directory (sticky bit, like /tmp); give a directory of its own`);
  if (target.uid === process.getuid?.() && (target.mode & 0o7777) !== mode) chmodSync(dir, mode);
  if (options.owner) fchownPath(dir, options.owner);
}

function fchownPath(path: string, owner: Owner): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  try {
    fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens `path` to append (creating it 0600), never through a symbolic link;
 * an existing file gets mode 0600 too (written by an older version).
 */
export function openPrivateAppend(path: string): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Gives an existing file mode 0600 (not through a link); nothing when there is none. */
export function restrictIfPresent(path: string): void {
  let fd: number;
  try {
    fd = openNoFollow(path);
  } catch {
    return;
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens `path` to read: never through a symbolic link, and only a regular
 * file (a named pipe a node planted in its directory would block the
 * reader; O_NONBLOCK lets the open return so it can be refused).
 */
export function openNoFollow(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  if (!regular) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EFTYPE' });
  return fd;
}

/**
 * Writes `content` to `path` atomically and privately: into `<path>.tmp`,
 * created afresh with O_EXCL (whatever was at that name, a link included,
 * is removed first, not followed), then renamed over `path`. A reader sees
 * the old file or the new one, never half of it; a write that fails (a
 * full disk) leaves the old file as it was.
 */
export function writePrivateFile(path: string, content: string, options: { mode?: number; owner?: Owner } = {}): void {
  const tmp = `${path}.tmp`;
  try {
    unlinkSync(tmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? PRIVATE_FILE_MODE);
  try {
    try {
      const buf = Buffer.from(content);
      for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
      if (options.owner) fchownSync(fd, options.owner.uid, options.owner.gid);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* gone already */ }
    throw err;
  }
}
