/**
 * Informational messages on stderr, as zeek-client's logging: `error: …`
 * always (unless -q), `warning: …` from verbosity 1, `info: …` from 2,
 * `debug: …` from 3; with rich_logging_format, timestamped. Ours: a notice
 * is a `warning: …` shown always (unless -q).
 */
import { printable } from '../management/printable.js';

export type Level = 'error' | 'warning' | 'info' | 'debug';

const RANK: Record<Level, number> = { error: 0, warning: 1, info: 2, debug: 3 };

export interface ClientLog {
  error(msg: string): void;
  /** A warning shown at the default verbosity too (ours: what an operator must see, e.g. a misspelled key). */
  notice(msg: string): void;
  warning(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createClientLog(options: { quiet: boolean; verbosity: number; rich: boolean; write?: (line: string) => void }): ClientLog {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  /** Writes `raw` as a `label` line when the verbosity reaches `level`. */
  const emit = (level: Level, raw: string, label: Level = level): void => {
    if (options.quiet || RANK[level] > options.verbosity) return;
    // Messages may quote files, peers and nodes: never a control character on the terminal.
    const msg = printable(raw);
    if (options.rich) {
      const ts = new Date().toISOString().replace('T', ' ').slice(0, 19);
      write(`${ts} ${label.padEnd(8)} ${msg}\n`);
    } else {
      write(`${label}: ${msg}\n`);
    }
  };
  return {
    error: (m) => emit('error', m),
    notice: (m) => emit('error', m, 'warning'),
    warning: (m) => emit('warning', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
  };
}
