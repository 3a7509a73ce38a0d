/**
 * zeek-archiver's one-shot run, built in: every rotated log in the log
 * queue, named `<path>__<open>__<close>__[<key=value>__…].log` by the nodes'
 * rotation function, is compressed into
 * `<archive>/<YYYY-MM-DD>/<path>.<HH:MM:SS>-<HH:MM:SS>[-<log_suffix>].log.gz`
 * (the date and times of the file's open and close, as zeek-archiver lays
 * them out), atomically (a temporary file renamed into place), and only
 * then removed from the queue. Anything else in the queue is left alone.
 * Expiry (zeekctl's `log_expire_days`) removes archived files older than so
 * many days from the day directories, and a day directory once empty.
 */
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const STAMP = /^(\d{4}-\d{2}-\d{2})-(\d{2})-(\d{2})-(\d{2})$/;

export interface QueuedLog {
  /** The file name in the queue. */
  file: string;
  /** Where it goes, relative to the archive directory. */
  target: string;
  /** Whether it still needs compressing (a `.log`; an already compressed one is moved as it is). */
  compress: boolean;
}

/** The archive name of a queued log, or undefined when the name is not one the nodes write. */
export function archiveName(file: string): QueuedLog | undefined {
  const m = /^(.+?)__(.+?)__(.+?)__(?:(.+)__)?(\.log(?:\.gz)?)$/.exec(file);
  if (!m) return undefined;
  const [, path, open, close, meta, ext] = m as unknown as [string, string, string, string, string | undefined, string];
  const o = STAMP.exec(open);
  const c = STAMP.exec(close);
  if (!o || !c || !/^[A-Za-z0-9_.-]+$/.test(path) || path.startsWith('.')) return undefined;
  let suffix = '';
  for (const pair of meta?.split('__') ?? []) {
    const [key, value] = pair.split('=', 2);
    if (key === 'log_suffix' && value && /^[A-Za-z0-9_.-]+$/.test(value)) suffix = `-${value}`;
  }
  const times = `${o[2]}:${o[3]}:${o[4]}-${c[2]}:${c[3]}:${c[4]}`;
  return { file, target: join(o[1]!, `${path}.${times}${suffix}.log.gz`), compress: ext === '.log' };
}

export interface ArchiveRun {
  archived: string[];
  errors: string[];
}

/** Archives what is in the queue now. Never follows a symlink; a failed file stays queued for the next run. */
export async function archiveQueue(queueDir: string, archiveDir: string): Promise<ArchiveRun> {
  const run: ArchiveRun = { archived: [], errors: [] };
  if (!existsSync(queueDir)) return run;
  for (const file of readdirSync(queueDir).sort()) {
    const entry = archiveName(file);
    if (!entry) continue;
    const source = join(queueDir, file);
    try {
      if (!lstatSync(source).isFile()) continue;
      const dest = freeName(join(archiveDir, entry.target));
      mkdirSync(join(dest, '..'), { recursive: true, mode: 0o700 });
      const tmp = join(dest, '..', `.${file}.tmp`);
      rmSync(tmp, { force: true });
      try {
        if (entry.compress) await pipeline(createReadStream(source), createGzip(), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
        else await pipeline(createReadStream(source), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
        renameSync(tmp, dest);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      unlinkSync(source);
      run.archived.push(dest);
    } catch (err) {
      run.errors.push(`${file}: ${(err as Error).message}`);
    }
  }
  return run;
}

/** `name.log.gz`, or `name.1.log.gz`, … when an archive of that name exists already. */
function freeName(path: string): string {
  if (!existsSync(path)) return path;
  const base = path.slice(0, -'.log.gz'.length);
  for (let i = 1; ; i++) {
    const candidate = `${base}.${i}.log.gz`;
    if (!existsSync(candidate)) return candidate;
  }
}

const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes archived logs last written more than `days` days before `now`
 * (regular files in `<archive>/<YYYY-MM-DD>/` only; nothing else in the
 * archive is touched), and the day directories this leaves empty.
 */
export function expireArchive(archiveDir: string, days: number, now = Date.now()): ArchiveRun {
  const run: ArchiveRun = { archived: [], errors: [] };
  if (!(days > 0) || !existsSync(archiveDir)) return run;
  const cutoff = now - days * DAY_MS;
  for (const day of readdirSync(archiveDir).sort()) {
    const dir = join(archiveDir, day);
    try {
      if (!DAY_DIR.test(day) || !lstatSync(dir).isDirectory()) continue;
      for (const file of readdirSync(dir)) {
        const path = join(dir, file);
        const st = lstatSync(path);
        if (st.isFile() && st.mtimeMs < cutoff) {
          unlinkSync(path);
          run.archived.push(path);
        }
      }
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    } catch (err) {
      run.errors.push(`${dir}: ${(err as Error).message}`);
    }
  }
  return run;
}
