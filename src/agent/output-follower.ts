/**
 * Follows the stdout/stderr files of running nodes and reports new lines,
 * so the controller can show node output live (`notify_log`). One timer for
 * all nodes; a rotated (shrunk) file starts over; lines per node and tick
 * are capped so a chatty node cannot flood the controller.
 */
import { closeSync, readSync, statSync } from 'node:fs';
import { openNoFollow } from '../management/private-files.js';
import { join } from 'node:path';
import { STREAMS } from './outputs.js';

export interface OutputLine {
  node: string;
  stream: (typeof STREAMS)[number];
  line: string;
}

interface Cursor { offset: number; partial: string }

const MAX_READ = 64 * 1024;
const MAX_LINE = 1000;

export class OutputFollower {
  private readonly followed = new Map<string, { dir: string; cursors: Map<string, Cursor> }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly onLine: (line: OutputLine) => void, intervalMs = 1000, private readonly maxLinesPerTick = 50) {
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  /** Starts following a node's files from their current end. */
  follow(node: string, dir: string): void {
    const cursors = new Map<string, Cursor>();
    for (const stream of STREAMS) cursors.set(stream, { offset: sizeOf(join(dir, stream)), partial: '' });
    this.followed.set(node, { dir, cursors });
  }

  /** Follows from the start (a freshly launched node's new files). */
  followFromStart(node: string, dir: string): void {
    this.followed.set(node, { dir, cursors: new Map(STREAMS.map((s) => [s, { offset: 0, partial: '' }])) });
  }

  unfollow(node: string): void {
    this.followed.delete(node);
  }

  /** Reads what is new right now (also called by the timer). */
  poll(): void {
    for (const [node, { dir, cursors }] of this.followed) {
      let budget = this.maxLinesPerTick;
      for (const stream of STREAMS) {
        const cursor = cursors.get(stream)!;
        for (const line of readNew(join(dir, stream), cursor)) {
          if (budget-- <= 0) break;
          this.onLine({ node, stream, line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line });
        }
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.followed.clear();
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readNew(path: string, cursor: Cursor): string[] {
  const size = sizeOf(path);
  if (size < cursor.offset) {
    cursor.offset = 0;
    cursor.partial = '';
  }
  if (size === cursor.offset) return [];
  const length = Math.min(size - cursor.offset, MAX_READ);
  const buf = Buffer.alloc(length);
  let fd: number;
  try {
    fd = openNoFollow(path);
  } catch {
    return [];
  }
  try {
    readSync(fd, buf, 0, length, cursor.offset);
  } finally {
    closeSync(fd);
  }
  cursor.offset += length;
  const text = cursor.partial + buf.toString('utf8');
  const lines = text.split('\n');
  cursor.partial = lines.pop() ?? '';
  return lines.filter((l) => l !== '');
}
