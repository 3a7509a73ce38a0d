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
import type { TlsFiles } from './tls-material.js';

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

/** A size in bytes: a number, optionally with K, M or G (powers of 1024; `16M`, `512KiB`, `1g`). */
export function readSize(s: Setting, min = 1): number {
  const m = /^(\d+)\s*(?:([KMG])(?:i?B)?|B)?$/i.exec(s.text.trim());
  const scale = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m?.[2] ?? '').toUpperCase()] ?? 1;
  const n = m ? Number(m[1]) * scale : NaN;
  return Number.isSafeInteger(n) && n >= min ? n : bad(s, `a size of at least ${min} bytes (e.g. 16M, 512K)`);
}

/** A whole number of at least `min` (and at most `max`, when given). */
export function readCount(s: Setting, min = 1, max?: number): number {
  const n = /^\d+$/.test(s.text.trim()) ? Number(s.text.trim()) : NaN;
  if (max !== undefined) return Number.isSafeInteger(n) && n >= min && n <= max ? n : bad(s, `a whole number from ${min} to ${max}`);
  return Number.isSafeInteger(n) && n >= min ? n : bad(s, `a whole number of at least ${min}`);
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

/** The TLS flags every daemon takes (and `up`), with their ZEEK_MGMT_TLS_* variables. */
export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsPassphraseFile?: string;
}

/** Certificate, key, CA and passphrase by flag, else environment; undefined when TLS is not asked for. */
export function readTlsFiles(flags: TlsFlags, env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const cert = setting(flags.tlsCert, '--tls-cert', env, 'ZEEK_MGMT_TLS_CERT');
  const key = setting(flags.tlsKey, '--tls-key', env, 'ZEEK_MGMT_TLS_KEY');
  const ca = setting(flags.tlsCa, '--tls-ca', env, 'ZEEK_MGMT_TLS_CA');
  const passFile = setting(flags.tlsPassphraseFile, '--tls-passphrase-file');
  const pass = env.ZEEK_MGMT_TLS_PASSPHRASE;
  if (!cert && !key) {
    const stray = ca ?? passFile;
    if (stray) throw new SettingsError(`${stray.from} needs a certificate and key (--tls-cert and --tls-key)`);
    return undefined;
  }
  if (!cert || !key) throw new SettingsError(`${(cert ?? key)!.from} needs ${cert ? '--tls-key (ZEEK_MGMT_TLS_KEY)' : '--tls-cert (ZEEK_MGMT_TLS_CERT)'} too`);
  const files: TlsFiles = { cert: cert.text, key: key.text };
  if (ca) files.ca = ca.text;
  if (passFile) files.passphraseFile = passFile.text;
  else if (pass) files.passphrase = pass;
  return files;
}

/** Whether an address to listen on or dial stays on this host. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Deny by default: a listener off loopback without TLS is refused unless the
 * operator said --insecure. Returns the refusal text, or undefined.
 */
export function exposureRefusal(what: string, flag: string, host: string, tls: boolean, insecure: boolean): string | undefined {
  if (tls || insecure || isLoopbackHost(host)) return undefined;
  return `refusing ${what} ${host} without TLS (${flag}): give --tls-cert and --tls-key (see README "Security"), or --insecure to run in plaintext anyway`;
}
