/**
 * The client's own settings, as zeek-client's: sections `client`,
 * `controller` and `ssl` with the same keys and defaults, overridden in
 * order by the config file (`-c FILE`, else `ZEEK_CLIENT_CONFIG_FILE`),
 * `ZEEK_CLIENT_CONFIG_SETTINGS`, `--set section.key=value` and finally
 * `--controller host:port`. The INI and shell-word parsers are loaded only
 * when a file or ZEEK_CLIENT_CONFIG_SETTINGS needs them.
 */
import { readFileSync } from 'node:fs';

type Sections = Map<string, Map<string, string>>;

const DEFAULTS: [string, [string, string][]][] = [
  ['client', [
    ['request_timeout_secs', '20'],
    ['peering_attempts', '10'],
    ['peering_retry_delay_secs', '1.0'],
    ['rich_logging_format', 'False'],
    ['pretty_json', 'True'],
    ['verbosity', '0'],
  ]],
  ['controller', [['host', '127.0.0.1'], ['port', '2149']]],
  ['ssl', [
    ['enable', 'False'], ['certificate', ''], ['keyfile', ''], ['cafile', ''], ['capath', ''], ['passphrase', ''],
  ]],
];

export interface SettingsSources {
  /** `-c FILE`; falls back to env ZEEK_CLIENT_CONFIG_FILE. A missing file is skipped, as configparser does. */
  configFile?: string;
  env: NodeJS.ProcessEnv;
  set?: string[];
  controller?: string;
  verbose?: number;
}

export class Settings {
  private constructor(private readonly sections: Sections) {}

  static defaults(): Settings {
    return new Settings(new Map(DEFAULTS.map(([s, kv]) => [s, new Map(kv)])));
  }

  /** Applies every source in zeek-client's order; errors are messages a person can act on. */
  static async load(sources: SettingsSources): Promise<{ settings: Settings; errors: string[] }> {
    const settings = Settings.defaults();
    const errors: string[] = [];
    const file = sources.configFile ?? sources.env.ZEEK_CLIENT_CONFIG_FILE;
    if (file) {
      const problem = await settings.updateFromFile(file);
      if (problem) errors.push(problem);
    }
    for (const item of await splitEnvSettings(sources.env.ZEEK_CLIENT_CONFIG_SETTINGS ?? '', errors)) {
      if (!settings.apply(item)) errors.push(`config item "${item}" in ZEEK_CLIENT_CONFIG_SETTINGS invalid. Please use <section.key>=<val>.`);
    }
    for (const item of sources.set ?? []) {
      if (!settings.apply(item)) errors.push(`config item "${item}" invalid. Please use <section.key>=<val>.`);
    }
    if (sources.controller) {
      const problem = settings.applyController(sources.controller);
      if (problem) errors.push(problem);
    }
    if (sources.verbose) settings.set('client', 'verbosity', String(sources.verbose));
    return { settings, errors };
  }

  get(section: string, key: string): string | undefined {
    return this.sections.get(section)?.get(key.toLowerCase());
  }

  set(section: string, key: string, value: string): void {
    let s = this.sections.get(section);
    if (!s) { s = new Map(); this.sections.set(section, s); }
    s.set(key.toLowerCase(), value);
  }

  /** `section.key=value`; false when the item is not of that shape. */
  apply(item: string): boolean {
    const eq = item.indexOf('=');
    const dot = eq < 0 ? -1 : item.slice(0, eq).indexOf('.');
    if (eq < 0 || dot < 0) return false;
    this.set(item.slice(0, dot), item.slice(dot + 1, eq), item.slice(eq + 1));
    return true;
  }

  /** `host:port`, `host`, `:port`, `[v6]:port` or `[v6]`, as zeek-client's --controller. */
  applyController(spec: string): string | undefined {
    let host = spec;
    let port = '';
    if (spec.includes(':')) {
      const i = spec.lastIndexOf(':');
      host = spec.slice(0, i);
      port = spec.slice(i + 1);
      if (host.includes(':')) {
        if (!host.startsWith('[')) return `--controller ${spec}: IPv6 addresses must be surrounded by brackets: [<ipv6>]:<port>`;
        if (port.endsWith(']')) { host = `${host}:${port}`; port = ''; }
      }
    }
    if (port !== '') this.set('controller', 'port', port);
    if (host !== '') this.set('controller', 'host', host);
    return undefined;
  }

  private async updateFromFile(file: string): Promise<string | undefined> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return `cannot read config file ${file}: ${(err as Error).message}`;
    }
    const { effectiveEntries, parseIni } = await import('./ini.js');
    const parsed = parseIni(text);
    if (!parsed.ok) return `${file}:${parsed.error.line}: ${parsed.error.message}`;
    for (const section of parsed.doc.sections) {
      for (const e of effectiveEntries(parsed.doc, section)) this.set(section.name, e.key, e.value ?? '');
    }
    return undefined;
  }

  /** What show-settings prints: configparser's write() of every section. */
  async render(): Promise<string> {
    const { renderIni } = await import('./ini.js');
    return renderIni([...this.sections].map(([name, kv]) => ({ name, entries: [...kv].map(([key, value]) => ({ key, value })) })));
  }

  // ---- typed accessors (errors as values) --------------------------------

  getBoolean(section: string, key: string): boolean | Error {
    const v = (this.get(section, key) ?? '').toLowerCase();
    if (['1', 'yes', 'true', 'on'].includes(v)) return true;
    if (['0', 'no', 'false', 'off'].includes(v)) return false;
    return new Error(`setting ${section}.${key} = "${this.get(section, key) ?? ''}" is not a boolean (use true/false, yes/no, on/off, 1/0)`);
  }

  getNumber(section: string, key: string, { integer = false, min = -Infinity } = {}): number | Error {
    const raw = (this.get(section, key) ?? '').trim();
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      return new Error(`setting ${section}.${key} = "${raw}" is not ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}`);
    }
    return n;
  }
}

async function splitEnvSettings(text: string, errors: string[]): Promise<string[]> {
  if (text === '') return [];
  const { shlexSplit } = await import('./shlex.js');
  const r = shlexSplit(text);
  if (r.ok) return r.words;
  errors.push(`ZEEK_CLIENT_CONFIG_SETTINGS cannot be split into words: ${r.error}`);
  return [];
}

/** Typed view of the settings a connection needs, validated once. */
export interface ClientSettings {
  host: string;
  port: number;
  requestTimeoutMs: number;
  peeringAttempts: number;
  retryDelayMs: number;
  prettyJson: boolean;
  verbosity: number;
  richLogging: boolean;
  ssl: boolean;
}

export function clientSettings(s: Settings): ClientSettings | Error {
  const port = s.getNumber('controller', 'port', { integer: true });
  if (port instanceof Error) return port;
  if (port < 1 || port > 65535) return new Error(`cannot configure connection to ${s.get('controller', 'host')}:${port}: controller port number ${port} outside valid range`);
  const values = {
    requestTimeout: s.getNumber('client', 'request_timeout_secs', { min: 0 }),
    attempts: s.getNumber('client', 'peering_attempts', { integer: true, min: 1 }),
    delay: s.getNumber('client', 'peering_retry_delay_secs', { min: 0 }),
    pretty: s.getBoolean('client', 'pretty_json'),
    verbosity: s.getNumber('client', 'verbosity', { integer: true, min: 0 }),
    rich: s.getBoolean('client', 'rich_logging_format'),
    ssl: s.getBoolean('ssl', 'enable'),
  };
  for (const v of Object.values(values)) if (v instanceof Error) return v;
  const host = (s.get('controller', 'host') ?? '').replace(/^\[|\]$/g, '');
  return {
    host,
    port,
    requestTimeoutMs: (values.requestTimeout as number) * 1000,
    peeringAttempts: values.attempts as number,
    retryDelayMs: (values.delay as number) * 1000,
    prettyJson: values.pretty as boolean,
    verbosity: values.verbosity as number,
    richLogging: values.rich as boolean,
    ssl: values.ssl as boolean,
  };
}
