/**
 * The one set of rules for the daemons' settings: a flag wins over Zeek's
 * environment variable, which wins over the default; values are read as
 * Zeek reads them (a port may be written `2150/tcp`, as `to_port` takes it);
 * a bad value is one error text that names where it came from — the flag,
 * or the environment variable.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Outcome } from '../protocol/errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';

/** A setting's text and where it came from (`--agent-port`, `ZEEK_CONTROLLER_PORT`). */
export interface Setting {
  readonly text: string;
  readonly from: string;
}

/** Thrown by the readers below; `settle` turns it into an Outcome at the boundary. */
export class SettingsError extends Error {}

/** The flag's value, else the environment variable's (an empty one counts as unset). */
export function setting(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv = {}, envName?: string): Setting | undefined {
  if (flag !== undefined) return { text: flag, from: flagName };
  const fromEnv = envName === undefined ? undefined : env[envName];
  return fromEnv ? { text: fromEnv, from: envName! } : undefined;
}

const bad = (s: Setting, what: string): never => {
  throw new SettingsError(`${s.from} must be ${what}, got ${JSON.stringify(s.text)}`);
};

/** A port number, bare or as Zeek writes a TCP port (`2150/tcp`). */
export function readPort(s: Setting, min = 0): number {
  const m = /^(\d{1,5})(?:\/tcp)?$/.exec(s.text.trim());
  const n = m ? Number(m[1]) : NaN;
  return n >= min && n <= 65535 ? n : bad(s, `a port number (${min}-65535)`);
}

/** Seconds, as milliseconds: at least `min`, or more than zero for 'positive'. */
export function readSeconds(s: Setting, min: number | 'positive'): number {
  const n = s.text.trim() === '' ? NaN : Number(s.text);
  const ok = Number.isFinite(n) && (min === 'positive' ? n > 0 : n >= min);
  if (!ok) bad(s, min === 'positive' ? 'a positive number of seconds' : min > 0 ? `a number of seconds of at least ${min}` : 'a number of seconds');
  return Math.round(n * 1000);
}

/** An IP address or a host name. */
export function readHost(s: Setting): string {
  return isIP(s.text) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(s.text) ? s.text : bad(s, 'an address or host name');
}

/** `host:port`, `[v6]:port`. */
export function readHostPort(s: Setting): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([^:]+)$/.exec(s.text);
  if (!m) bad(s, 'host:port');
  return { host: readHost({ text: m![1] ?? m![2]!, from: `${s.from} host` }), port: readPort({ text: m![3]!, from: `${s.from} port` }) };
}

export function readLogLevel(s: Setting): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s.text) ? s.text as LogLevel : bad(s, `one of ${LOG_LEVELS.join(', ')}`);
}

export function readLogFormat(s: Setting): LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(s.text) ? s.text as LogFormat : bad(s, `one of ${LOG_FORMATS.join(', ')}`);
}

/**
 * A component's state directory: `<base>/<name>`, the base from --state-dir
 * or ZEEK_MANAGEMENT_STATE_DIR (default `.zeek-mgmt`), the same for `up`,
 * `controller` and `agent`, so each finds the others' state where it left it.
 */
export function stateDirOf(base: Setting | undefined, name: string, cwd: string): string {
  return resolve(cwd, base?.text ?? '.zeek-mgmt', name);
}

/** Runs a settings reader: its value, or the first bad setting's error text. */
export function settle<T>(read: () => T): Outcome<T> {
  try {
    return { ok: true, value: read() };
  } catch (err) {
    if (err instanceof SettingsError) return { ok: false, error: err.message };
    throw err;
  }
}
