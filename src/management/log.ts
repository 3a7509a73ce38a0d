/**
 * The management log: one JSON line per event, with time, component name,
 * role and level, on stderr and (for daemons with a state directory) in
 * `<state dir>/management.log`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';

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
}

export type ManagementLogger = pino.Logger;

/** File destinations each logger opened, so their owner can close them. */
const files = new WeakMap<pino.Logger, ReturnType<typeof pino.destination>[]>();

/** Flushes and closes the files a logger from createLogger opened (stderr stays open). */
export function closeLogger(logger: pino.Logger): void {
  for (const dest of files.get(logger) ?? []) {
    dest.flushSync();
    dest.end();
  }
  files.delete(logger);
}

export function createLogger(options: LogOptions): ManagementLogger {
  const streams: pino.StreamEntry[] = [];
  const opened: ReturnType<typeof pino.destination>[] = [];
  const level = (options.level ?? process.env.ZEEK_MGMT_LOG_LEVEL ?? 'info') as pino.Level;
  if (!options.quiet) streams.push({ level, stream: pino.destination({ fd: 2, sync: true }) });
  if (options.stateDir) {
    mkdirSync(options.stateDir, { recursive: true });
    const file = pino.destination({ dest: join(options.stateDir, 'management.log'), sync: true, mkdir: true });
    opened.push(file);
    streams.push({ level, stream: file });
  }
  const logger = pino(
    {
      level,
      base: { name: options.name, role: options.role },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
  files.set(logger, opened);
  return logger;
}
