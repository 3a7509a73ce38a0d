/**
 * Informational messages on stderr, as zeek-client's logging: `error: …`
 * always (unless -q), `warning: …` from verbosity 1, `info: …` from 2,
 * `debug: …` from 3; with rich_logging_format, timestamped.
 */
import { printable } from '../management/printable.js';

export type Level = 'error' | 'warning' | 'info' | 'debug';

const RANK: Record<Level, number> = { error: 0, warning: 1, info: 2, debug: 3 };

export interface ClientLog {
  error(msg: string): void;
  warning(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createClientLog(options: { quiet: boolean; verbosity: number; rich: boolean; write?: (line: string) => void }): ClientLog {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: Level, raw: string): void => {
    if (options.quiet || RANK[level] > options.verbosity) return;
    // Messages may quote files, peers and nodes: never a control character on the terminal.
    const msg = printable(raw);
    if (options.rich) {
      const ts = new Date().toISOString().replace('T', ' ').slice(0, 19);
      write(`${ts} ${level.padEnd(8)} ${msg}\n`);
    } else {
      write(`${level}: ${msg}\n`);
    }
  };
  return {
    error: (m) => emit('error', m),
    warning: (m) => emit('warning', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
  };
}
