/**
 * The management log: one line per event, with level, time, component
 * name and role. In `<state dir>/management.log` (for daemons with a state
 * directory) every line is JSON in pino's shape
 * (`{"level":"info","time":…,"name":…,"role":…,…fields,"msg":…}`), so pino's
 * tools read them, and the file always has the info lines, whatever the
 * level: requests, deploys and state changes are its audit trail. On stderr,
 * lines at the chosen level or above, readable (`time LEVEL name: msg
 * key=value…`) on a terminal, JSON otherwise or with format `json`. A small
 * formatter (log-line.ts) writes both.
 *
 * A daemon logs a line per event it receives and sends, so logging sits on
 * every request's path. A log call only notes the line and its time; lines
 * are formatted once the event at hand is handled, or a few dozen at a time
 * in a burst, and written in batches, one write per destination, at most
 * BATCH_MS after the first pending one or once BATCH_BYTES of text wait (so
 * a burst is not held in memory). A warning or an error is written at once,
 * with everything before it; what is pending is written synchronously when
 * the logger is closed and when the process exits. Only a SIGKILL can lose
 * the last few milliseconds of info lines. Because formatting comes later,
 * callers pass values, not objects they go on to change.
 *
 * `management.log` is rotated by size (`management.log.1` … `.<keep>`), and
 * written 0600. A write that fails for want of space (ENOSPC, EDQUOT, EIO)
 * loses those lines, never the daemon: the file is cut back to its last
 * whole line, and the next write that succeeds starts with a line saying
 * how many were lost.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../protocol/logger.js';
import { isatty } from 'node:tty';
import { formatLine, formatTextLine, type LineLevel } from './log-line.js';
import { makePrivateDir, openNoFollow, openPrivateAppend } from './private-files.js';

export type Component = 'controller' | 'agent' | 'node' | 'client' | 'launcher';

export interface LogOptions {
  /** The component's instance name, e.g. `controller-myhost`. */
  name: string;
  role: Component;
  level?: string;
  /** Directory for management.log; omitted means stderr only. */
  stateDir?: string;
  /** Stderr output off (tests, or when a parent process collects it). */
  quiet?: boolean;
  /** management.log is rotated once it would grow past this (default LOG_ROTATION.maxBytes). */
  maxBytes?: number;
  /** Rotated files kept (default LOG_ROTATION.keep). */
  keep?: number;
  /** How stderr lines look: `text` (readable), `json`, or `auto` (text on a terminal; the default). The file is always JSON. */
  format?: LogFormat;
}

export const LOG_FORMATS = ['auto', 'text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Defaults of management.log's rotation. */
export const LOG_ROTATION = { maxBytes: 16 * 1024 * 1024, keep: 5 } as const;

/** The levels a logger can be set to, least severe first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How long a line may wait for others to share its write. */
const BATCH_MS = 5;
/** How many lines may wait to be formatted (formatting a few dozen never holds up a request for long). */
const BATCH_LINES = 32;
/** How much formatted text may wait to be written. */
const BATCH_BYTES = 64 * 1024;

/** Severity by level name: trace 10 … fatal 60 (pino's numbers); silent lets nothing through. */
const RANK: Record<string, number> = Object.fromEntries(LOG_LEVELS.map((l, i) => [l, l === 'silent' ? Infinity : (i + 1) * 10]));
/** management.log keeps at least these: the audit trail. */
const FILE_RANK = RANK.info!;

interface Entry { level: LineLevel; time: number; obj: object; msg: string | undefined }

export class ManagementLogger implements Logger {
  private pending: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private formatSoon: NodeJS.Immediate | undefined;
  /** `,"name":…,"role":…`: the same on every line. */
  private readonly bindings: string;
  private stampMs = -1;
  private stamp = '';
  private lineBytes = 0;
  /** The least severe level any destination takes. */
  private readonly min: number;

  /** @internal use createLogger */
  constructor(private readonly options: LogOptions, private readonly outs: Output[]) {
    this.bindings = `,"name":${JSON.stringify(options.name)},"role":${JSON.stringify(options.role)}`;
    this.min = Math.min(...outs.map((o) => o.min));
  }

  debug(obj: object, msg?: string): void { this.add('debug', obj, msg); }
  info(obj: object, msg?: string): void { this.add('info', obj, msg); }
  warn(obj: object, msg?: string): void { this.add('warn', obj, msg); }
  error(obj: object, msg?: string): void { this.add('error', obj, msg); }

  /** Formats and writes every pending line now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.formatPending();
    this.lineBytes = 0;
    for (const out of this.outs) out.writePending();
  }

  /** Writes what is pending and closes the files this logger opened (stderr stays open). */
  close(): void {
    this.flush();
    live.delete(this);
    for (const out of this.outs) out.close();
    this.outs.length = 0;
  }

  private add(level: LineLevel, obj: object, msg: string | undefined): void {
    const rank = RANK[level]!;
    if (rank < this.min) return;
    this.pending.push({ level, time: Date.now(), obj, msg });
    // A warning or an error goes out at once: it may be the last word before a crash.
    if (rank >= RANK.warn!) this.flush();
    else if (this.pending.length >= BATCH_LINES) {
      this.formatPending();
      if (this.lineBytes >= BATCH_BYTES) this.flush();
    } else if (!this.formatSoon) {
      // Formatted once the event at hand is done (a response already on its way), not in its path.
      this.formatSoon = setImmediate(() => this.formatPending());
      this.formatSoon.unref();
    }
    if (!this.timer && this.pending.length + this.lineBytes > 0) {
      this.timer = setTimeout(() => this.flush(), BATCH_MS);
      this.timer.unref();
    }
  }

  private formatPending(): void {
    clearImmediate(this.formatSoon);
    this.formatSoon = undefined;
    const pending = this.pending;
    this.pending = [];
    for (const e of pending) {
      const rank = RANK[e.level]!;
      let json: string | undefined;
      for (const out of this.outs) {
        if (rank < out.min) continue;
        const line = out.text
          ? formatTextLine(e.level, e.time, this.options.name, e.obj, e.msg)
          : (json ??= formatLine(e.level, this.isoTime(e.time), this.bindings, e.obj, e.msg));
        out.add(line);
        this.lineBytes += line.length;
      }
    }
  }

  /** `,"time":"…"`, formatted once per millisecond rather than once per line. */
  private isoTime(time: number): string {
    if (time !== this.stampMs) {
      this.stampMs = time;
      this.stamp = `,"time":"${new Date(time).toISOString()}"`;
    }
    return this.stamp;
  }
}

/** Errors that mean "no room now", after which a later write may work again. */
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EFBIG']);

/** A destination: stderr, or a file this logger opened (and closes), with the least severe level it takes and its format. */
class Output {
  private broken = false;
  private readonly lines: string[] = [];
  /** Lines lost to failed writes since the last one that worked. */
  private lost = 0;
  /** A failed write may have left half a line: the next text starts on a line of its own. */
  protected midLine = false;

  constructor(protected fd: number, private readonly owned: boolean, readonly min: number, readonly text: boolean) {}

  add(line: string): void {
    this.lines.push(line);
  }

  writePending(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines.length = 0;
    this.write(text);
  }

  /**
   * Writes all of `text` synchronously: a short write is continued, a full
   * pipe (EAGAIN) waited out. Lines that cannot be written for want of space
   * are counted and reported by the next write that works. A destination
   * that fails otherwise (a closed pipe) is given up: logging never takes a
   * daemon down.
   */
  private write(text: string): void {
    if (this.broken) return;
    this.beforeWrite(Buffer.byteLength(text));
    if (this.lost > 0 || this.midLine) {
      // A line of its own after whatever half line a failed write left, then how many were lost.
      const note = Buffer.from(`${this.midLine ? '\n' : ''}${lossLine(this.lost)}`);
      const lost = this.lost;
      const midLine = this.midLine;
      this.lost = 0;
      this.midLine = false;
      if (!this.writeAll(note, 0)) {
        this.lost += lost + countLines(text);
        // A note cut short is half a line too.
        this.midLine ||= midLine;
        return;
      }
    }
    this.writeAll(Buffer.from(text), countLines(text));
  }

  close(): void {
    if (this.owned && !this.broken) closeSync(this.fd);
    this.broken = true;
  }

  /** A file output rotates here. */
  protected beforeWrite(_bytes: number): void {}

  /** Whether all of `buf` was written; if not, its `lines` are counted as lost. */
  private writeAll(buf: Buffer, lines: number): boolean {
    let rest = buf;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.fd, rest));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code === 'EAGAIN') {
          Atomics.wait(PAUSE, 0, 0, 1);
          continue;
        }
        if (TRANSIENT.has(code)) {
          this.lost += lines;
          if (rest.length < buf.length && !this.undoPartial()) this.midLine = true;
        } else this.broken = true;
        return false;
      }
    }
    this.wrote(buf.length);
    return true;
  }

  protected wrote(_bytes: number): void {}

  /** Takes back the start of a text that could not be written whole; false where that cannot be done (a pipe). */
  protected undoPartial(): boolean {
    return false;
  }
}

/** `management.log`: rotated once it would grow past `maxBytes`, keeping `keep` old files. */
class LogFile extends Output {
  private size: number;

  constructor(private readonly path: string, private readonly maxBytes: number, private readonly keep: number, min: number) {
    const fd = openPrivateAppend(path);
    super(fd, true, min, false);
    this.size = fstatSync(fd).size;
    // An earlier run may have stopped with half a line written (a full disk).
    this.midLine = this.size > 0 && !endsWithNewline(path, this.size);
  }

  protected override beforeWrite(bytes: number): void {
    if (this.size === 0 || this.size + bytes <= this.maxBytes) return;
    try {
      rmSync(`${this.path}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
      else rmSync(this.path, { force: true });
      const fd = openPrivateAppend(this.path);
      closeSync(this.fd);
      this.fd = fd;
      this.size = 0;
    } catch {
      // Rotation failed (no room for a new file): keep writing where we are; it is tried again at the next write.
    }
  }

  protected override wrote(bytes: number): void {
    this.size += bytes;
  }

  /** The file is cut back to its last whole line: a full disk leaves no half line behind. */
  protected override undoPartial(): boolean {
    try {
      ftruncateSync(this.fd, this.size);
      return true;
    } catch {
      return false;
    }
  }
}

function endsWithNewline(path: string, size: number): boolean {
  const fd = openNoFollow(path);
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function lossLine(lost: number): string {
  return `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: `${lost} log line${lost === 1 ? '' : 's'} lost: the log could not be written (disk full?)` })}\n`;
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Every open logger, flushed when the process exits. */
const live = new Set<ManagementLogger>();
process.once('exit', () => { for (const log of live) log.flush(); });

export function createLogger(options: LogOptions): ManagementLogger {
  const level = options.level ?? process.env.ZEEK_MGMT_LOG_LEVEL ?? 'info';
  const min = RANK[level];
  if (min === undefined) throw new Error(`unknown log level "${level}"; use one of ${LOG_LEVELS.join(', ')}`);
  const format = options.format ?? 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new Error(`unknown log format "${format}"; use one of ${LOG_FORMATS.join(', ')}`);
  const outs: Output[] = [];
  if (!options.quiet) outs.push(new Output(2, false, min, format === 'text' || (format === 'auto' && isatty(2))));
  if (options.stateDir) {
    // The daemon sets its state dir's mode; a missing one is made private here.
    if (!existsSync(options.stateDir)) makePrivateDir(options.stateDir);
    outs.push(new LogFile(join(options.stateDir, 'management.log'), options.maxBytes ?? LOG_ROTATION.maxBytes, options.keep ?? LOG_ROTATION.keep, Math.min(min, FILE_RANK)));
  }
  const logger = new ManagementLogger(options, outs);
  live.add(logger);
  return logger;
}
