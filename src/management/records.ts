/**
 * Codecs between the Management records and Broker values. A record is a
 * vector of its fields in declaration order, absent optional fields are
 * `none`, and decoders tolerate trailing fields a newer peer may add.
 * Decoders throw DecodeError with the path of the offending field.
 */
import { DecodeError, decodePart } from '../protocol/errors.js';
import {
  type Port, type Value,
  bool, count, enumValue, integer, none, optional, port, real, set, str, table, timespan, timestamp, vector, address,
} from '../protocol/values.js';
import {
  BUNDLE_HASH, CLUSTER_BACKENDS, CLUSTER_ROLES, MAX_LOG_EXPIRE_DAYS, MGMT_ROLES, STATES,
  type AreaUse, type ClusterBackend, type ClusterRole, type ClusterSettings, type Configuration, type Instance, type MgmtRole, type Node, type NodeOption,
  type ExitRecord, type NodeOutputs, type NodeStatus, type Result, type State,
} from './types.js';

// ---- field readers -------------------------------------------------------

function got(v: Value | undefined): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v.type === 'none' || v.type === 'vector' || v.type === 'set' || v.type === 'table') return v.type;
  const shown = v.type === 'port' ? `${v.value.number}/${v.value.protocol}` : String(v.value);
  return `${v.type} ${JSON.stringify(shown.length > 40 ? `${shown.slice(0, 37)}...` : shown)}`;
}

function expected(what: string, v: Value | undefined, path: string): never {
  throw new DecodeError(path, `expected ${what}, got ${got(v)}`);
}

export function readString(v: Value | undefined, path: string): string {
  return v?.type === 'string' ? v.value : expected('string', v, path);
}

export function readBool(v: Value | undefined, path: string): boolean {
  return v?.type === 'boolean' ? v.value : expected('bool', v, path);
}

export function readPort(v: Value | undefined, path: string): Port {
  return v?.type === 'port' ? v.value : expected('port', v, path);
}

export function readAddress(v: Value | undefined, path: string): string {
  return v?.type === 'address' ? v.value : expected('addr', v, path);
}

export function readInt(v: Value | undefined, path: string): number {
  if (v?.type !== 'integer' && v?.type !== 'count') expected('int', v, path);
  const n = Number(v.value);
  if (!Number.isSafeInteger(n)) throw new DecodeError(path, `integer ${v.value} out of range`);
  return n;
}

/** Vectors and sets both arrive as lists; Zeek may send either for `set`. */
export function readList(v: Value | undefined, path: string, kind: 'vector' | 'set'): readonly Value[] {
  if (v?.type === 'vector' || v?.type === 'set') return v.value;
  return expected(kind, v, path);
}

export function readEnum<T extends string>(v: Value | undefined, path: string, module: string, names: readonly T[]): T {
  if (v?.type !== 'enum-value') expected(`enum ${module}`, v, path);
  const [prefix, name] = splitEnum(v.value);
  if (prefix !== module || !(names as readonly string[]).includes(name)) {
    throw new DecodeError(path, `expected one of ${names.map((n) => `${module}::${n}`).join(', ')}, got ${JSON.stringify(v.value)}`);
  }
  return name as T;
}

function splitEnum(text: string): [string, string] {
  const i = text.lastIndexOf('::');
  return i < 0 ? ['', text] : [text.slice(0, i), text.slice(i + 2)];
}

function opt<T>(v: Value | undefined, read: (v: Value, path: string) => T, path: string): T | undefined {
  return v === undefined || v.type === 'none' ? undefined : read(v, path);
}

function fields(v: Value | undefined, path: string, record: string, required: number): readonly Value[] {
  if (v?.type !== 'vector') expected(`record ${record}`, v, path);
  if (v.value.length < required) {
    throw new DecodeError(path, `record ${record} needs at least ${required} fields, got ${v.value.length}`);
  }
  return v.value;
}

// ---- enums ---------------------------------------------------------------

export const encodeClusterRole = (r: ClusterRole): Value => enumValue(`Supervisor::${r}`);
export const encodeState = (s: State): Value => enumValue(`Management::${s}`);
export const encodeMgmtRole = (r: MgmtRole): Value => enumValue(`Management::${r}`);
export const readClusterRole = (v: Value | undefined, path: string): ClusterRole => readEnum(v, path, 'Supervisor', CLUSTER_ROLES);
export const readState = (v: Value | undefined, path: string): State => readEnum(v, path, 'Management', STATES);
export const readMgmtRole = (v: Value | undefined, path: string): MgmtRole => readEnum(v, path, 'Management', MGMT_ROLES);

// ---- records -------------------------------------------------------------

/**
 * `[0]`, `[1]`, …: field paths. A record decoded as a part of a list (path '')
 * thus builds no path strings; `'' + FIELD[i]` is FIELD[i] itself.
 */
const FIELD = Array.from({ length: 11 }, (_, i) => `[${i}]`);

export function encodeInstance(i: Instance): Value {
  return vector([str(i.name), address(i.host), optional(i.listenPort, (p) => port(p.number, p.protocol))]);
}

export function decodeInstance(v: Value | undefined, path: string): Instance {
  const f = fields(v, path, 'Management::Instance', 2);
  const instance: Instance = { name: readString(f[0], path + FIELD[0]!), host: readAddress(f[1], path + FIELD[1]!) };
  const listenPort = opt(f[2], readPort, path + FIELD[2]!);
  return listenPort ? { ...instance, listenPort } : instance;
}

export function encodeOption(o: NodeOption): Value {
  return vector([str(o.name), str(o.value)]);
}

export function decodeOption(v: Value | undefined, path: string): NodeOption {
  const f = fields(v, path, 'Management::Option', 2);
  return { name: readString(f[0], `${path}[0]`), value: readString(f[1], `${path}[1]`) };
}

const encodePort = (p: Port): Value => port(p.number, p.protocol);

export function encodeNode(n: Node): Value {
  return vector([
    str(n.name),
    str(n.instance),
    encodeClusterRole(n.role),
    encodeState(n.state),
    optional(n.port, encodePort),
    optional(n.scripts, (s) => vector(s.map(str))),
    optional(n.options, (o) => set(o.map(encodeOption))),
    optional(n.interface, str),
    optional(n.cpuAffinity, integer),
    table(Object.entries(n.env).map(([k, x]) => [str(k), str(x)] as const)),
    optional(n.metricsPort, encodePort),
  ]);
}

export function decodeNode(v: Value | undefined, path: string): Node {
  const f = fields(v, path, 'Management::Node', 4);
  const at = (i: number): string => path + FIELD[i]!;
  const node: Node = {
    name: readString(f[0], at(0)),
    instance: readString(f[1], at(1)),
    role: readClusterRole(f[2], at(2)),
    state: readState(f[3], at(3)),
    env: decodeEnv(f[9], at(9)),
  };
  const p = opt(f[4], readPort, at(4));
  if (p) node.port = p;
  const scripts = opt(f[5], (x, pa) => readList(x, pa, 'vector').map((s, i) => readString(s, `${pa}[${i}]`)), at(5));
  if (scripts) node.scripts = scripts;
  const options = opt(f[6], (x, pa) => readList(x, pa, 'set').map((o, i) => decodeOption(o, `${pa}[${i}]`)), at(6));
  if (options) node.options = options;
  const iface = opt(f[7], readString, at(7));
  if (iface !== undefined) node.interface = iface;
  const cpu = opt(f[8], readInt, at(8));
  if (cpu !== undefined) node.cpuAffinity = cpu;
  const metrics = opt(f[10], readPort, at(10));
  if (metrics) node.metricsPort = metrics;
  return node;
}

function decodeEnv(v: Value | undefined, path: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (v === undefined || v.type === 'none') return env;
  if (v.type !== 'table') expected('table[string] of string', v, path);
  v.value.forEach(([k, x], i) => {
    env[decodePart(readString, k, path, i, '.key')] = decodePart(readString, x, path, i, '.value');
  });
  return env;
}

/**
 * Ours: the cluster-wide settings record, `[backend string?, xpub_port port?,
 * xsub_port port?, log_expire_days count?, bundle string?]`. Trailing fields
 * are written only when set, so a configuration without them encodes as before.
 */
export function encodeClusterSettings(s: ClusterSettings): Value {
  const f = [optional(s.backend, str), optional(s.xpubPort, encodePort), optional(s.xsubPort, encodePort)];
  if (s.logExpireDays !== undefined || s.bundle !== undefined) f.push(optional(s.logExpireDays, count), optional(s.bundle, str));
  return vector(f);
}

export function decodeClusterSettings(v: Value | undefined, path: string): ClusterSettings {
  const f = fields(v, path, 'ClusterSettings', 0);
  const settings: ClusterSettings = {};
  const backend = opt(f[0], readString, `${path}[0]`);
  if (backend !== undefined) {
    if (!(CLUSTER_BACKENDS as readonly string[]).includes(backend)) {
      throw new DecodeError(`${path}[0]`, `cluster backend must be one of ${CLUSTER_BACKENDS.join(', ')}, got ${JSON.stringify(backend)}`);
    }
    settings.backend = backend as ClusterBackend;
  }
  const xpub = opt(f[1], readPort, `${path}[1]`);
  if (xpub) settings.xpubPort = xpub;
  const xsub = opt(f[2], readPort, `${path}[2]`);
  if (xsub) settings.xsubPort = xsub;
  const days = opt(f[3], readInt, `${path}[3]`);
  if (days !== undefined) {
    if (days < 0 || days > MAX_LOG_EXPIRE_DAYS) throw new DecodeError(`${path}[3]`, `log_expire_days must be 0 to ${MAX_LOG_EXPIRE_DAYS}, got ${days}`);
    settings.logExpireDays = days;
  }
  const bundle = opt(f[4], readString, `${path}[4]`);
  if (bundle !== undefined) {
    if (!BUNDLE_HASH.test(bundle)) throw new DecodeError(`${path}[4]`, `a script bundle is named by its sha256 (64 lowercase hex digits), got ${JSON.stringify(bundle.slice(0, 80))}`);
    settings.bundle = bundle;
  }
  return settings;
}

/** The original's three fields; a fourth, the cluster settings, only when there are any. */
export function encodeConfiguration(c: Configuration): Value {
  const f = [str(c.id), set(c.instances.map(encodeInstance)), set(c.nodes.map(encodeNode))];
  if (c.cluster && Object.keys(c.cluster).length > 0) f.push(encodeClusterSettings(c.cluster));
  return vector(f);
}

export function decodeConfiguration(v: Value | undefined, path: string): Configuration {
  const f = fields(v, path, 'Management::Configuration', 3);
  const [instancesAt, nodesAt] = [`${path}[1]`, `${path}[2]`];
  const config: Configuration = {
    id: readString(f[0], `${path}[0]`),
    instances: readList(f[1], instancesAt, 'set').map((x, i) => decodePart(decodeInstance, x, instancesAt, i)),
    nodes: readList(f[2], nodesAt, 'set').map((x, i) => decodePart(decodeNode, x, nodesAt, i)),
  };
  const cluster = opt(f[3], decodeClusterSettings, `${path}[3]`);
  if (cluster && Object.keys(cluster).length > 0) config.cluster = cluster;
  return config;
}

export function encodeNodeStatus(s: NodeStatus): Value {
  const roles = [encodeMgmtRole(s.mgmtRole), encodeClusterRole(s.clusterRole)];
  const ports = [optional(s.port, encodePort), optional(s.metricsPort, encodePort), optional(s.backendPorts, encodePortTable)];
  return vector([str(s.node), encodeState(s.state), ...roles, optional(s.pid, integer), ...ports, ...encodeNodeHealth(s)]);
}

/**
 * Ours, fields [8]-[12] of NodeStatus: uptime (interval), CPU % (double), RSS bytes (count), restarts (count), last exit;
 * [13]-[15], only when a worker has them: packets received, dropped (counts), when they were read (time).
 */
function encodeNodeHealth(s: NodeStatus): Value[] {
  const health = [
    optional(s.uptimeMs, (ms) => timespan(BigInt(Math.round(ms)) * 1_000_000n)),
    optional(s.cpuPercent, real),
    optional(s.rssBytes, count),
    optional(s.restarts, count),
    optional(s.lastExit, encodeExitRecord),
  ];
  if (s.packetsReceived === undefined) return health;
  return [...health, count(s.packetsReceived), optional(s.packetsDropped, count), optional(s.captureTime, encodeTime)];
}

/** A time (ISO 8601, UTC) as Broker writes it: `2022-04-10T07:00:00.000`, no zone. */
export const encodeTime = (iso: string): Value => timestamp(iso.replace(/Z$/, ''));

/** Broker's timestamps carry no zone: UTC. Returns ISO 8601 with its zone. */
export function readTime(v: Value | undefined, path: string): string {
  if (v?.type !== 'timestamp') expected('time', v, path);
  return /(Z|[+-]\d{2}:?\d{2})$/.test(v.value) ? v.value : `${v.value}Z`;
}

/** `[time, code int?, signal string?, description]`. */
export function encodeExitRecord(e: ExitRecord): Value {
  return vector([encodeTime(e.time), optional(e.code, integer), optional(e.signal, str), str(e.description)]);
}

export function decodeExitRecord(v: Value | undefined, path: string): ExitRecord {
  const f = fields(v, path, 'ExitRecord', 4);
  const e: ExitRecord = { time: readTime(f[0], `${path}[0]`), description: readString(f[3], `${path}[3]`) };
  const code = opt(f[1], readInt, `${path}[1]`);
  if (code !== undefined) e.code = code;
  const signal = opt(f[2], readString, `${path}[2]`);
  if (signal !== undefined) e.signal = signal;
  return e;
}

function readCount(v: Value, path: string): number {
  const n = readInt(v, path);
  if (n < 0) throw new DecodeError(path, `expected a count, got ${n}`);
  return n;
}

function readReal(v: Value, path: string): number {
  if (v.type === 'real') return v.value;
  return readInt(v, path);
}

function readIntervalMs(v: Value, path: string): number {
  if (v.type !== 'timespan') expected('interval', v, path);
  return Number(v.value / 1_000_000n);
}

function decodeNodeHealth(f: readonly Value[], path: string, status: NodeStatus): void {
  const at = (i: number): string => `${path}[${i}]`;
  const uptime = opt(f[8], readIntervalMs, at(8));
  if (uptime !== undefined) status.uptimeMs = uptime;
  const cpu = opt(f[9], readReal, at(9));
  if (cpu !== undefined) status.cpuPercent = cpu;
  const rss = opt(f[10], readCount, at(10));
  if (rss !== undefined) status.rssBytes = rss;
  const restarts = opt(f[11], readCount, at(11));
  if (restarts !== undefined) status.restarts = restarts;
  const lastExit = opt(f[12], decodeExitRecord, at(12));
  if (lastExit) status.lastExit = lastExit;
  const received = opt(f[13], readCount, at(13));
  if (received !== undefined) status.packetsReceived = received;
  const dropped = opt(f[14], readCount, at(14));
  if (dropped !== undefined) status.packetsDropped = dropped;
  const captured = opt(f[15], readTime, at(15));
  if (captured !== undefined) status.captureTime = captured;
}

const encodePortTable = (ports: Record<string, Port>): Value => table(Object.entries(ports).map(([k, p]) => [str(k), encodePort(p)] as const));

function decodePortTable(v: Value, path: string): Record<string, Port> {
  if (v.type !== 'table') expected('table[string] of port', v, path);
  const ports: Record<string, Port> = {};
  v.value.forEach(([k, x], i) => {
    ports[decodePart(readString, k, path, i, '.key')] = decodePart(readPort, x, path, i, '.value');
  });
  return ports;
}

export function decodeNodeStatus(v: Value | undefined, path: string): NodeStatus {
  const f = fields(v, path, 'Management::NodeStatus', 2);
  const at = (i: number): string => `${path}[${i}]`;
  const status: NodeStatus = {
    node: readString(f[0], at(0)),
    state: readState(f[1], at(1)),
    mgmtRole: opt(f[2], readMgmtRole, at(2)) ?? 'NONE',
    clusterRole: opt(f[3], readClusterRole, at(3)) ?? 'NONE',
  };
  const pid = opt(f[4], readInt, at(4));
  if (pid !== undefined) status.pid = pid;
  const p = opt(f[5], readPort, at(5));
  if (p) status.port = p;
  const m = opt(f[6], readPort, at(6));
  if (m) status.metricsPort = m;
  const backendPorts = opt(f[7], decodePortTable, at(7));
  if (backendPorts && Object.keys(backendPorts).length > 0) status.backendPorts = backendPorts;
  decodeNodeHealth(f, path, status);
  return status;
}

export function encodeResult(r: Result): Value {
  return vector([
    str(r.reqid),
    bool(r.success),
    optional(r.instance, str),
    r.data ?? none(),
    optional(r.error, str),
    optional(r.node, str),
  ]);
}

export function decodeResult(v: Value | undefined, path: string): Result {
  const f = fields(v, path, 'Management::Result', 2);
  const at = (i: number): string => `${path}[${i}]`;
  const result: Result = { reqid: readString(f[0], at(0)), success: opt(f[1], readBool, at(1)) ?? true };
  const instance = opt(f[2], readString, at(2));
  if (instance !== undefined) result.instance = instance;
  if (f[3] !== undefined && f[3].type !== 'none') result.data = f[3];
  const error = opt(f[4], readString, at(4));
  if (error !== undefined) result.error = error;
  const node = opt(f[5], readString, at(5));
  if (node !== undefined) result.node = node;
  return result;
}

export const encodeResults = (rs: readonly Result[]): Value => vector(rs.map(encodeResult));

export function decodeResults(v: Value | undefined, path: string): Result[] {
  return readList(v, path, 'vector').map((x, i) => decodeResult(x, `${path}[${i}]`));
}

export function encodeNodeOutputs(o: NodeOutputs): Value {
  return vector([str(o.stdout), str(o.stderr)]);
}

export function decodeNodeOutputs(v: Value | undefined, path: string): NodeOutputs {
  const f = fields(v, path, 'Management::NodeOutputs', 2);
  return { stdout: readString(f[0], `${path}[0]`), stderr: readString(f[1], `${path}[1]`) };
}

export function readStringSet(v: Value | undefined, path: string): string[] {
  return readList(v, path, 'set').map((x, i) => readString(x, `${path}[${i}]`));
}

export const encodeStringSet = (names: readonly string[]): Value => set(names.map(str));
export const encodeStringVector = (names: readonly string[]): Value => vector(names.map(str));

/** Ours: a df answer's data, a vector of `[name, path, bytes, files, fs_size, fs_free]`. */
export const encodeDiskUse = (areas: readonly AreaUse[]): Value =>
  vector(areas.map((a) => vector([str(a.name), str(a.path), count(a.bytes), count(a.files), count(a.fsSize), count(a.fsFree)])));

export function decodeDiskUse(v: Value | undefined, path: string): AreaUse[] {
  return readList(v, path, 'vector').map((x, i) => {
    const at = `${path}[${i}]`;
    const f = fields(x, at, 'DiskUse', 6);
    return {
      name: readString(f[0], `${at}[0]`), path: readString(f[1], `${at}[1]`), bytes: readInt(f[2], `${at}[2]`),
      files: readInt(f[3], `${at}[3]`), fsSize: readInt(f[4], `${at}[4]`), fsFree: readInt(f[5], `${at}[5]`),
    };
  });
}
