/**
 * Turns the controller's responses into the JSON documents zeek-client
 * prints, command for command, and the exit status that goes with them.
 * Pure functions: no I/O, so each shape is tested directly.
 */
import { losslessJson } from '../protocol/wire-json.js';
import type { Value } from '../protocol/index.js';
import { decodeInstance, decodeNodeOutputs, decodeNodeStatus, readList } from '../management/records.js';
import type { Instance, NodeStatus, Result } from '../management/types.js';

/**
 * What a command prints: zeek-client's JSON, its exit status, warnings, and
 * (ours) one line per failed Result for stderr, so that a failure's reason is
 * seen even when stdout goes to a program.
 */
export interface Shaped { json: unknown; exitCode: number; warnings: string[]; failures: string[] }

/** zeek-client shows host only when it is not the 0.0.0.0 placeholder, port only when set. */
export function instanceToJson(i: Instance): Record<string, unknown> {
  if (i.listenPort !== undefined) return { name: i.name, host: i.host, port: i.listenPort.number };
  if (i.host !== '0.0.0.0') return { name: i.name, host: i.host };
  return { name: i.name };
}

/** Plain JSON for an `any` value (zeek-client's to_py(); ports as their number text). */
export function valueToJson(v: Value): unknown {
  switch (v.type) {
    case 'none': return null;
    case 'count': case 'integer': return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value;
    case 'port': return String(v.value.number);
    case 'timespan': return `${v.value / 1000n}us`;
    case 'vector': case 'set': return v.value.map(valueToJson);
    case 'table': return Object.fromEntries(v.value.map(([k, x]) => [String(valueToJson(k)), valueToJson(x)]));
    default: return v.value;
  }
}

/** zeek-client's Result ordering: by instance (results without one last), then by node. */
export function sortResults(results: readonly Result[]): Result[] {
  const cmp = (a: Result, b: Result): number => {
    if (a.instance === undefined && b.instance !== undefined) return 1;
    if (a.instance !== undefined && b.instance === undefined) return -1;
    if (a.instance !== undefined && b.instance !== undefined && a.instance !== b.instance) return a.instance < b.instance ? -1 : 1;
    if (a.node !== undefined && b.node !== undefined && a.node !== b.node) return a.node < b.node ? -1 : 1;
    return 0;
  };
  return [...results].sort(cmp);
}

export function stageJson(results: readonly Result[]): Shaped {
  const json = { results: {} as Record<string, unknown>, errors: [] as unknown[] };
  let exitCode = 0;
  for (const res of results) {
    if (!res.success) {
      exitCode = 1;
      json.errors.push(res.error || 'no reason given');
      continue;
    }
    if (res.data !== undefined) json.results.id = valueToJson(res.data);
  }
  return { json, exitCode, warnings: [], failures: json.errors.map(String) };
}

export function deployJson(results: readonly Result[]): Shaped {
  const json = { results: {} as Record<string, unknown>, errors: [] as unknown[] };
  const nodes: Record<string, Record<string, unknown>> = {};
  const warnings: string[] = [];
  const failures: string[] = [];
  let exitCode = 0;
  for (const res of results) {
    if (!res.success) exitCode = 1;
    if (!res.success && res.node === undefined && res.error) { json.errors.push(res.error); failures.push(res.error); continue; }
    if (res.success && res.node === undefined && res.instance === undefined && res.data !== undefined) {
      json.results.id = valueToJson(res.data);
      continue;
    }
    if (res.instance === undefined) { warnings.push(`skipping unexpected response ${describe(res)}`); continue; }
    if (res.node === undefined) continue;
    const entry: Record<string, unknown> = { success: res.success, instance: res.instance };
    let lastErrLine = '';
    if (res.data !== undefined) {
      try {
        const out = decodeNodeOutputs(res.data, 'data');
        entry.stdout = out.stdout;
        entry.stderr = out.stderr;
        lastErrLine = out.stderr.trimEnd().split('\n').at(-1) ?? '';
      } catch (err) {
        warnings.push(`node ${res.node}: unexpected result data (${(err as Error).message})`);
      }
    }
    nodes[res.node] = entry;
    if (!res.success) failures.push(`node ${res.node} on ${res.instance}: ${res.error || 'failed'}${lastErrLine ? ` (stderr: ${lastErrLine})` : ''}`);
  }
  if (Object.keys(nodes).length > 0) json.results.nodes = nodes;
  return { json, exitCode, warnings, failures };
}

export function getIdValueJson(results: readonly Result[]): Shaped {
  const json = { results: {} as Record<string, unknown>, errors: [] as unknown[] };
  for (const res of sortResults(results)) {
    if (!res.success) { json.errors.push({ source: res.node ?? null, error: res.error ?? null }); continue; }
    if (res.node) {
      if (res.data?.type !== 'string') {
        json.errors.push({ source: res.node, error: `invalid result data type ${res.data ? res.data.type : 'none'}` });
        continue;
      }
      try {
        json.results[res.node] = losslessJson().parse(res.data.value);
      } catch (err) {
        json.errors.push({ source: res.node, error: `JSON decode error: ${(err as Error).message}` });
      }
      continue;
    }
    json.errors.push({ error: `result lacking node: ${res.data ? JSON.stringify(valueToJson(res.data)) : 'None'}` });
  }
  return { json, exitCode: json.errors.length === 0 ? 0 : 1, warnings: [], failures: json.errors.map(describeError) };
}

/** An `errors` entry of zeek-client's JSON as one line: `node: error`. */
export function describeError(e: unknown): string {
  const { source, error } = e as { source?: string | null; error?: string | null };
  return `${source ? `${source}: ` : ''}${error ?? 'no reason given'}`;
}

export function getInstancesJson(result: Result): Shaped | { error: string } {
  if (!result.success) return { error: result.error || 'no reason given' };
  if (result.data === undefined) return { error: 'received result did not contain instance data' };
  const json: Record<string, unknown> = {};
  const warnings: string[] = [];
  try {
    const instances = readList(result.data, 'data', 'vector').map((v, i) => decodeInstance(v, `data[${i}]`));
    for (const inst of instances.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const { name: _name, ...rest } = instanceToJson(inst);
      json[inst.name] = rest;
    }
  } catch (err) {
    warnings.push(`instance data invalid: ${(err as Error).message}`);
  }
  return { json, exitCode: 0, warnings, failures: [] };
}

export interface NodeRow {
  instance: string;
  node: string;
  state: string;
  mgmt_role: string | null;
  cluster_role: string | null;
  pid?: number;
  port?: number;
  metrics_port?: number;
  /** Ours: the cluster backend's further listen ports (ZeroMQ's xpub/xsub on the manager). */
  backend_ports?: Record<string, number>;
  /** Ours, the node's health: seconds its process has run, its CPU % (of one CPU, last seconds), resident memory. */
  uptime_secs?: number;
  cpu_percent?: number;
  rss_bytes?: number;
  /** Automatic restarts since the deployment. */
  restarts?: number;
  /** How the previous process ended. */
  last_exit?: { time: string; code?: number; signal?: string; description: string };
  /** A worker's capture figures from its metrics (current process): packets received and dropped. */
  packets_received?: number;
  packets_dropped?: number;
}

export function getNodesJson(results: readonly Result[]): Shaped & { rows: NodeRow[]; json: { errors: { source: string | null; error: string | null }[] } } {
  const json = { results: {} as Record<string, Record<string, unknown>>, errors: [] as { source: string | null; error: string | null }[] };
  const rows: NodeRow[] = [];
  const warnings: string[] = [];
  for (const res of sortResults(results)) {
    const source = res.instance ?? null;
    // A failed Result may carry an unreachable instance's last known nodes: table rows, not JSON results (zeek-client's shape).
    const unreachable = !res.success;
    if (unreachable) json.errors.push({ source, error: res.error ?? null });
    if (unreachable && (res.data === undefined || res.instance === undefined)) continue;
    if (res.data === undefined) { json.errors.push({ source, error: 'result does not contain node status data' }); continue; }
    const perInstance: Record<string, unknown> = {};
    if (!unreachable) json.results[String(res.instance)] = perInstance;
    try {
      const stats = readList(res.data, 'data', 'vector').map((v, i) => decodeNodeStatus(v, `data[${i}]`));
      for (const s of stats.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
        const row: NodeRow = {
          instance: String(res.instance),
          node: s.node,
          state: unreachable ? 'UNREACHABLE' : s.state,
          mgmt_role: s.mgmtRole === 'NONE' ? null : s.mgmtRole,
          cluster_role: s.clusterRole === 'NONE' ? null : s.clusterRole,
        };
        if (s.pid !== undefined && !unreachable) row.pid = s.pid;
        if (s.port !== undefined) row.port = s.port.number;
        if (s.metricsPort !== undefined) row.metrics_port = s.metricsPort.number;
        if (s.backendPorts !== undefined) row.backend_ports = Object.fromEntries(Object.entries(s.backendPorts).map(([k, p]) => [k, p.number]));
        addHealth(row, s);
        const { instance: _i, node: _n, ...shown } = row;
        perInstance[s.node] = shown;
        rows.push(row);
      }
    } catch (err) {
      warnings.push(`NodeStatus data invalid: ${(err as Error).message}`);
    }
  }
  return { json, rows, exitCode: json.errors.length === 0 ? 0 : 1, warnings, failures: json.errors.map(describeError) };
}

/** Ours: the trailing health fields of a NodeStatus, in the row. */
function addHealth(row: NodeRow, s: NodeStatus): void {
  if (s.uptimeMs !== undefined) row.uptime_secs = Math.floor(s.uptimeMs / 1000);
  if (s.cpuPercent !== undefined) row.cpu_percent = s.cpuPercent;
  if (s.rssBytes !== undefined) row.rss_bytes = s.rssBytes;
  if (s.restarts !== undefined) row.restarts = s.restarts;
  if (s.lastExit !== undefined) row.last_exit = { ...s.lastExit };
  if (s.packetsReceived !== undefined) row.packets_received = s.packetsReceived;
  if (s.packetsDropped !== undefined) row.packets_dropped = s.packetsDropped;
}

export function restartJson(results: readonly Result[]): Shaped {
  const json = { results: {} as Record<string, unknown>, errors: [] as unknown[] };
  // A node that failed to restart is `false` in zeek-client's results; its reason goes to stderr and the exit status is 1.
  const failed: string[] = [];
  for (const res of sortResults(results)) {
    if (!res.success && res.instance === undefined) { json.errors.push({ source: res.node ?? null, error: res.error ?? null }); continue; }
    if (res.node) {
      json.results[res.node] = res.success;
      if (!res.success) failed.push(`node ${res.node} on ${res.instance}: ${res.error || 'not restarted'}`);
      continue;
    }
    json.errors.push({ error: `result lacking node: ${describe(res)}` });
  }
  return { json, exitCode: json.errors.length + failed.length === 0 ? 0 : 1, warnings: [], failures: [...json.errors.map(describeError), ...failed] };
}

function describe(res: Result): string {
  const parts = [`reqid=${res.reqid}`, `success=${res.success}`];
  if (res.instance !== undefined) parts.push(`instance=${res.instance}`);
  if (res.node !== undefined) parts.push(`node=${res.node}`);
  if (res.error !== undefined) parts.push(`error=${res.error}`);
  if (res.data !== undefined) parts.push(`data=${JSON.stringify(valueToJson(res.data), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return `Result(${parts.join(', ')})`;
}

