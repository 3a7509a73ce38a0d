/**
 * The cluster configuration file, as zeek-client reads and writes it: an
 * `[instances]` section (bare names: agents that connect to the controller;
 * `name = host:port`: agents the controller dials) and one section per node.
 * Parsing yields the same Management::Configuration zeek-client would send,
 * or one error naming the file, the line and the problem. Ours beyond it: a
 * `[cluster]` section (without a `role`, else it is a node of that name) for
 * cluster-wide settings such as the backend; a `[scripts]` section (the same
 * rule) naming the script bundle (`dir`, packed and uploaded by the client,
 * or `bundle`, the hash of one the controller stores); zeekctl's worker
 * expansion keys (worker-expansion.ts) and `af_packet_*` node options.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Port } from '../protocol/index.js';
import { NODE_OPTIONS, optionOfIniKey, optionRedef } from '../management/node-options.js';
import {
  BUNDLE_HASH, CLUSTER_BACKENDS, CLUSTER_ROLES, MAX_LOG_EXPIRE_DAYS, type ClusterBackend, type ClusterRole, type ClusterSettings, type Configuration, type Instance, type Node,
} from '../management/types.js';
import { effectiveEntries, escapeIniValue, parseIni, renderIni, type IniDocument, type IniEntry, type IniSection } from './ini.js';
import { quoteIfSpaced, shlexSplit } from './shlex.js';
import { instanceToJson } from './results.js';
import { expandWorkers, LB_KEYS, OPTION_KEYS, type LoadBalancing } from './worker-expansion.js';
import { quoted } from '../management/printable.js';

export interface ParseOptions {
  /** Shown in errors, e.g. the file name or `<stdin>`. */
  source: string;
  /** For nodes without an instance: `agent-<hostname>`. */
  hostname: string;
  /** The instance of nodes that name none, instead of `agent-<hostname>` (the dashboard: the one agent connected). */
  localInstance?: string;
  /** The configuration id; a fresh UUID by default, as zeek-client makes one per staging. */
  id?: string;
}

export type ParseResult =
  | { ok: true; config: Configuration; warnings: string[]; scripts?: ScriptsSource }
  | { ok: false; error: string };

/** `[scripts] dir`: a directory of site scripts to pack and upload, as written (relative to the file), and its line. */
export interface ScriptsSource { dir: string; line: number }

const NODE_KEYS = new Set(['instance', 'role', 'type', 'scripts', 'port', 'interface', 'cpu_affinity', 'env', 'metrics_port', 'state', ...LB_KEYS, ...OPTION_KEYS]);
const CLUSTER_KEYS = new Set(['backend', 'xpub_port', 'xsub_port', 'log_expire_days']);
const SCRIPTS_KEYS = new Set(['dir', 'bundle']);

/** `[cluster]` and `[scripts]` hold settings unless they have a role (then each is a node of that name, as zeek-client reads it). */
const isSettingsSection = (doc: IniDocument, s: IniSection, name: string): boolean =>
  s.name === name && !effectiveEntries(doc, s).some((e) => e.key === 'role' || e.key === 'type');
const NODE_ROLES = CLUSTER_ROLES.filter((r) => r !== 'NONE');

class ConfigError extends Error {
  constructor(readonly line: number, message: string) { super(message); }
}

export function parseClusterConfig(text: string, options: ParseOptions): ParseResult {
  if (text.includes('\u0000')) return { ok: false, error: `${options.source}: not a text file (it holds NUL bytes); a cluster configuration is an INI file` };
  const parsed = parseIni(text);
  if (!parsed.ok) return { ok: false, error: `${options.source}:${parsed.error.line}: ${parsed.error.message}` };
  const warnings: string[] = [];
  try {
    const { config, scripts } = buildConfiguration(parsed.doc, options, warnings);
    return { ok: true, config, warnings, ...(scripts ? { scripts } : {}) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, error: `${options.source}:${err.line}: ${err.message}` };
  }
}

function buildConfiguration(doc: IniDocument, options: ParseOptions, warnings: string[]): { config: Configuration; scripts?: ScriptsSource } {
  const instancesSection = doc.sections.find((s) => s.name === 'instances');
  const instances = instancesSection ? effectiveEntries(doc, instancesSection).map(parseInstance) : [];
  const clusterSection = doc.sections.find((s) => isSettingsSection(doc, s, 'cluster'));
  const cluster = clusterSection ? parseClusterSection(effectiveEntries(doc, clusterSection)) : undefined;
  if (clusterSection) warnings.push(...unknownKeys(options.source, clusterSection, effectiveEntries(doc, clusterSection), CLUSTER_KEYS));
  const scriptsSection = doc.sections.find((s) => isSettingsSection(doc, s, 'scripts'));
  const scripts = scriptsSection ? parseScriptsSection(scriptsSection, effectiveEntries(doc, scriptsSection)) : undefined;
  if (scriptsSection) warnings.push(...unknownKeys(options.source, scriptsSection, effectiveEntries(doc, scriptsSection), SCRIPTS_KEYS));
  const settings = [instancesSection, clusterSection, scriptsSection];
  const parsedNodes: { node: Node; lb: LoadBalancing }[] = [];
  const instanceFree: IniSection[] = [];
  for (const section of doc.sections) {
    if (settings.includes(section)) continue;
    const entries = effectiveEntries(doc, section);
    if (!entries.some((e) => e.key === 'instance')) instanceFree.push(section);
    parsedNodes.push(parseNode(section, entries, options.localInstance ?? `agent-${options.hostname}`, warnings));
    warnings.push(...unknownKeys(options.source, section, entries, NODE_KEYS));
  }
  const nodes = expandWorkers(parsedNodes, (line, message) => { throw new ConfigError(line, message); }, warnings);
  if (instanceFree.length > 0 && instanceFree.length !== parsedNodes.length) {
    const withInstance = doc.sections.find((s) => !settings.includes(s) && !instanceFree.includes(s))!;
    throw new ConfigError(instanceFree[0]!.line,
      `node "${instanceFree[0]!.name}" names no instance but node "${withInstance.name}" (line ${withInstance.line}) does: either all or no nodes must state instances`);
  }
  if (instanceFree.length > 0 && instancesSection) {
    throw new ConfigError(instancesSection.line, 'omit the [instances] section when the nodes name no instance (they then run on the local agent)');
  }
  const finalInstances = instancesSection
    ? instances
    : [...new Set(nodes.map((n) => n.instance))].sort().map((name): Instance => ({ name, host: '0.0.0.0' }));
  const config: Configuration = { id: options.id ?? randomUUID(), instances: finalInstances, nodes: nodes.sort(byName) };
  const withBundle = scripts?.bundle ? { ...cluster, bundle: scripts.bundle } : cluster;
  if (withBundle && Object.keys(withBundle).length > 0) config.cluster = withBundle;
  return { config, ...(scripts?.dir ? { scripts: scripts.dir } : {}) };
}

/** `[scripts]`: `dir = PATH` (a directory the client packs and uploads) or `bundle = HASH` (one the controller stores). */
function parseScriptsSection(section: IniSection, entries: IniEntry[]): { dir?: ScriptsSource; bundle?: string } {
  for (const e of entries) {
    if (e.value === undefined || e.value.trim() === '') throw new ConfigError(e.line, `config item scripts.${e.key} needs a value`);
  }
  const dir = entries.find((e) => e.key === 'dir');
  const bundle = entries.find((e) => e.key === 'bundle');
  if (dir && bundle) throw new ConfigError(bundle.line, '[scripts] names both a directory (dir) and a stored bundle (bundle): give one');
  if (bundle) {
    const hash = bundle.value!.trim().toLowerCase();
    if (!BUNDLE_HASH.test(hash)) throw new ConfigError(bundle.line, `scripts bundle ${quoted(bundle.value!)} is not a bundle hash (64 hex digits, as get-config shows it)`);
    return { bundle: hash };
  }
  if (dir) return { dir: { dir: dir.value!.trim(), line: dir.line } };
  throw new ConfigError(section.line, '[scripts] needs dir = DIRECTORY (site scripts to pack and upload) or bundle = HASH');
}

function parseClusterSection(entries: IniEntry[]): ClusterSettings {
  const settings: ClusterSettings = {};
  for (const e of entries) {
    if (e.value === undefined || e.value === '') throw new ConfigError(e.line, `config item cluster.${e.key} needs a value`);
    if (e.key === 'backend') {
      const backend = e.value.trim().toLowerCase();
      if (!(CLUSTER_BACKENDS as readonly string[]).includes(backend)) {
        throw new ConfigError(e.line, `cluster backend ${quoted(e.value)} is invalid; use one of ${CLUSTER_BACKENDS.join(', ')}`);
      }
      settings.backend = backend as ClusterBackend;
    } else if (e.key === 'xpub_port') settings.xpubPort = tcp(portNumber(e.value, e, 'cluster xpub_port'));
    else if (e.key === 'xsub_port') settings.xsubPort = tcp(portNumber(e.value, e, 'cluster xsub_port'));
    else if (e.key === 'log_expire_days') {
      const days = integer(e.value, e, 'cluster log_expire_days');
      if (days < 0 || days > MAX_LOG_EXPIRE_DAYS) throw new ConfigError(e.line, `cluster log_expire_days ${days} outside valid range (0-${MAX_LOG_EXPIRE_DAYS}; 0 keeps logs)`);
      settings.logExpireDays = days;
    }
  }
  return settings;
}

function parseInstance(entry: IniEntry): Instance {
  if (!entry.value) return { name: entry.key, host: '0.0.0.0' };
  const colon = entry.value.lastIndexOf(':');
  const host = colon < 0 ? '' : entry.value.slice(0, colon).replace(/^[\s[]+|[\s\]]+$/g, '');
  const portText = colon < 0 ? '' : entry.value.slice(colon + 1).trim();
  if (host === '' || portText === '') {
    throw new ConfigError(entry.line, `invalid spec for instance "${entry.key}": ${quoted(entry.value)} should be <host>:<port> (IPv6 as [addr]:port)`);
  }
  if (isIP(host) === 0) {
    throw new ConfigError(entry.line, `instance "${entry.key}": ${quoted(host)} is not an IP address (the controller dials agents by address)`);
  }
  return { name: entry.key, host, listenPort: { number: portNumber(portText, entry, `instance "${entry.key}" port`), protocol: 'tcp' } };
}

function parseNode(section: IniSection, entries: IniEntry[], localInstance: string, warnings: string[]): { node: Node; lb: LoadBalancing } {
  const get = (...keys: string[]): IniEntry | undefined => keys.map((k) => entries.find((e) => e.key === k)).find((e) => e !== undefined);
  // A misspelled [instances], [cluster] or [scripts] would be read as a node.
  const meant = get('role', 'type') ? undefined : closest(section.name, ['instances', 'cluster', 'scripts']);
  if (meant) throw new ConfigError(section.line, `section [${section.name}] is not [${meant}] and has no role: did you mean [${meant}]?`);
  for (const e of entries) {
    if (e.value === undefined) throw new ConfigError(e.line, `config item ${section.name}.${e.key} needs a value`);
  }
  const where = `node "${section.name}"`;
  const state = get('state');
  if (state?.value) warnings.push(`ignoring node "${section.name}" state "${state.value}" in configuration`);
  const roleEntry = get('role', 'type');
  if (!roleEntry?.value) throw new ConfigError(section.line, `${where} requires a role (one of ${NODE_ROLES.map((r) => r.toLowerCase()).join(', ')})`);
  const role = lookupRole(roleEntry.value);
  if (!role) throw new ConfigError(roleEntry.line, `${where}: role "${roleEntry.value}" is invalid; use one of ${NODE_ROLES.map((r) => r.toLowerCase()).join(', ')}`);
  const node: Node = {
    name: section.name,
    instance: get('instance')?.value || localInstance,
    role,
    state: 'RUNNING',
    env: {},
  };
  const portEntry = get('port');
  if (portEntry) node.port = tcp(portNumber(portEntry.value!, portEntry, `${where} port`));
  const metricsEntry = get('metrics_port');
  if (metricsEntry) node.metricsPort = tcp(portNumber(metricsEntry.value!, metricsEntry, `${where} metrics port`));
  const iface = get('interface');
  if (iface) node.interface = iface.value!;
  const cpu = get('cpu_affinity');
  if (cpu) node.cpuAffinity = integer(cpu.value!, cpu, `${where} cpu_affinity`);
  const scripts = get('scripts');
  if (scripts?.value) node.scripts = split(scripts, `${where} scripts`).sort();
  const env = get('env');
  if (env?.value) node.env = parseEnv(env, where);
  const options = entries.flatMap((e) => {
    const name = optionOfIniKey(e.key);
    if (name === undefined) return [];
    const option = { name, value: e.value!.trim() };
    const r = optionRedef(option);
    if (!r.ok) throw new ConfigError(e.line, `${where} ${e.key}: ${r.error}`);
    return [option];
  });
  if (options.length > 0) node.options = options;
  const at = (key: string): { value: string; line: number } | undefined => {
    const e = get(key);
    return e ? { value: e.value!, line: e.line } : undefined;
  };
  const lb: LoadBalancing = { line: section.line };
  const [procs, method, pinCpus] = [at('lb_procs'), at('lb_method'), at('pin_cpus')];
  if (procs) lb.procs = procs;
  if (method) lb.method = method;
  if (pinCpus) lb.pinCpus = pinCpus;
  return { node, lb };
}

/**
 * One warning per key a section does not know, with its line and the key
 * it was likely meant to be (`interfce` → `interface`): a misspelled key
 * is otherwise silently ignored, and the node runs without it.
 */
function unknownKeys(source: string, section: IniSection, entries: IniEntry[], known: ReadonlySet<string>): string[] {
  return entries.filter((e) => !known.has(e.key)).map((e) => {
    const meant = closest(e.key, [...known]);
    return `${source}:${e.line}: unknown key ${quoted(e.key)} in [${section.name}], ignored${meant ? `; did you mean "${meant}"?` : ''}`;
  });
}

/** The candidate within a typo or two of `word` (the nearest), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d > 0 && d <= limit && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function lookupRole(text: string): ClusterRole | undefined {
  const name = text.split('::').at(-1)!.split('.').at(-1)!.toUpperCase();
  return (NODE_ROLES as readonly string[]).includes(name) ? (name as ClusterRole) : undefined;
}

function integer(text: string, entry: IniEntry, what: string): number {
  const t = text.trim().replace(/_/g, '');
  if (!/^[+-]?\d+$/.test(t)) throw new ConfigError(entry.line, `${what}: ${quoted(text)} is not an integer`);
  return Number(t);
}

function portNumber(text: string, entry: IniEntry, what: string): number {
  const n = integer(text, entry, what);
  if (n < 1 || n > 65535) throw new ConfigError(entry.line, `${what} ${n} outside valid range (1-65535)`);
  return n;
}

const tcp = (number: number): Port => ({ number, protocol: 'tcp' });

function split(entry: IniEntry, what: string): string[] {
  const r = shlexSplit(entry.value!);
  if (!r.ok) throw new ConfigError(entry.line, `${what} value ${quoted(entry.value!)} is invalid: ${r.error}`);
  return r.words;
}

function parseEnv(entry: IniEntry, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of split(entry, `${where} env`)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(entry.line, `${where} env value ${quoted(entry.value!)} is invalid: ${quoted(item)} is not KEY=VALUE (quote values with spaces: KEY="a b")`);
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The INI text zeek-client's `get-config` prints; staging it again yields the same configuration. */
export function renderClusterConfig(config: Configuration): string {
  const sections: { name: string; entries: { key: string; value: string | undefined }[] }[] = [];
  if (config.instances.length > 0) {
    sections.push({
      name: 'instances',
      entries: [...config.instances].sort(byName).map((i) => ({
        key: i.name,
        value: i.listenPort === undefined ? undefined : `${isIP(i.host) === 6 ? `[${i.host}]` : i.host}:${i.listenPort.number}`,
      })),
    });
  }
  const c = config.cluster;
  if (c && Object.keys(c).length > 0) {
    const entries: { key: string; value: string | undefined }[] = [];
    if (c.backend) entries.push({ key: 'backend', value: c.backend });
    if (c.xpubPort) entries.push({ key: 'xpub_port', value: String(c.xpubPort.number) });
    if (c.xsubPort) entries.push({ key: 'xsub_port', value: String(c.xsubPort.number) });
    if (c.logExpireDays !== undefined) entries.push({ key: 'log_expire_days', value: String(c.logExpireDays) });
    if (entries.length > 0) sections.push({ name: 'cluster', entries });
    if (c.bundle) sections.push({ name: 'scripts', entries: [{ key: 'bundle', value: c.bundle }] });
  }
  for (const node of [...config.nodes].sort(byName)) {
    const entries: { key: string; value: string | undefined }[] = [];
    const add = (key: string, value: string | undefined): void => { if (value !== undefined) entries.push({ key, value: escapeIniValue(value) }); };
    add('instance', node.instance);
    add('role', node.role);
    add('port', node.port?.number.toString());
    if (node.scripts && node.scripts.length > 0) add('scripts', [...node.scripts].sort().map(quoteIfSpaced).join(' '));
    add('interface', node.interface);
    add('cpu_affinity', node.cpuAffinity?.toString());
    const env = Object.keys(node.env).sort();
    if (env.length > 0) add('env', env.map((k) => `${k}=${quoteIfSpaced(node.env[k]!)}`).join(' '));
    add('metrics_port', node.metricsPort?.number.toString());
    for (const o of [...(node.options ?? [])].sort(byName)) {
      const key = NODE_OPTIONS[o.name]?.iniKey;
      if (key) add(key, o.value);
    }
    sections.push({ name: node.name, entries });
  }
  return renderIni(sections);
}

/** The JSON form of `get-config --as-json` (zeek-client's to_json_data()). */
export function configurationToJson(config: Configuration): unknown {
  const c = config.cluster;
  const cluster = c && Object.keys(c).length > 0
    ? {
      cluster: {
        backend: c.backend ?? null, xpub_port: c.xpubPort?.number ?? null, xsub_port: c.xsubPort?.number ?? null,
        log_expire_days: c.logExpireDays ?? null, scripts_bundle: c.bundle ?? null,
      },
    }
    : {};
  return {
    ...cluster,
    id: config.id,
    instances: [...config.instances].sort(byName).map(instanceToJson),
    nodes: [...config.nodes].sort(byName).map((n) => ({
      name: n.name,
      instance: n.instance,
      role: n.role,
      port: n.port?.number ?? null,
      scripts: n.scripts ?? null,
      options: n.options ? n.options.map((o) => ({ name: o.name, value: o.value })) : null,
      interface: n.interface ?? null,
      cpu_affinity: n.cpuAffinity ?? null,
      env: n.env,
      metrics_port: n.metricsPort?.number ?? null,
    })),
  };
}
