/** Reading the end of a file that may be large (node output, the management log), never through a symlink. */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { openNoFollow } from './private-files.js';

/** The last `maxBytes` of a file as text, from a line start ('' when unreadable). */
export function readTail(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openNoFollow(path);
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8');
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}
