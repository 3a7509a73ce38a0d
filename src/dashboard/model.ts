/**
 * What the dashboard knows of the cluster, and the rules that turn it into
 * what it shows: which rows are stale, which are problems (and so come
 * first), and the workers' packet and drop rates. Plain data and pure
 * functions of it, with the time passed in, so the rules are tested without
 * a browser. The page (view.ts) feeds it answers and notifications.
 */
import type { ClusterRole, Configuration, ExitRecord, NodeStatus, State } from '../management/types.js';
import type { DeploymentInfo } from '../management/history.js';
import { duration } from '../client/table.js';

/** A node whose last status from its agent is older than this is stale (the page asks every REFRESH_MS). */
export const STALE_MS = 15_000;
export const REFRESH_MS = 5000;
/** Dropped share (of packets seen) from which a worker is a problem, in percent. */
export const DROP_WARN_PERCENT = 1;
/** Events kept for the stream. */
export const MAX_EVENTS = 200;

export interface InstanceView {
  name: string;
  /** Address as the controller sees its session. */
  host?: string;
  connected: boolean;
  /** The agent's own status (pid, uptime, RSS), from get_nodes. */
  agent?: NodeStatus;
}

/** A capture sample: counters and when they were read (ms). */
interface Sample { received: number; dropped: number; at: number }

export interface NodeView {
  name: string;
  instance: string;
  role: ClusterRole;
  state: State;
  status?: NodeStatus;
  /** When the page last had this node's status from its agent (ms); undefined: never. */
  seenAt?: number;
  /** The last two capture samples of the current process, oldest first. */
  samples: Sample[];
}

export interface Capture {
  received: number;
  dropped: number;
  /** Dropped share of all packets seen, percent: over the last interval when there is one, else since the start. */
  dropPercent: number;
  /** Packets per second over the last interval. */
  pps?: number;
}

export type Severity = 'failed' | 'stale' | 'transient' | 'overloaded' | 'ok';

export interface NodeRow extends NodeView {
  stale: boolean;
  severity: Severity;
  capture?: Capture;
}

export interface EventLine { at: number; text: string; level: 'error' | 'change' | 'log' | 'info' }

export interface Model {
  link: 'connecting' | 'open' | 'closed';
  linkWhy?: string;
  role?: 'operator' | 'viewer';
  instances: Map<string, InstanceView>;
  nodes: Map<string, NodeView>;
  /** Errors of the last get_nodes, by source. */
  nodeErrors: string[];
  deployed?: Configuration;
  /** As staged, with ports assigned (the history's form), when there is one. */
  staged?: Configuration;
  /** What changed from the deployed to the staged configuration (diff-config's text). */
  diff?: string;
  history: DeploymentInfo[];
  events: EventLine[];
}

export function emptyModel(): Model {
  return { link: 'connecting', instances: new Map(), nodes: new Map(), nodeErrors: [], history: [], events: [] };
}

/** Instances from get_instances: these are connected; others known before are not. */
export function applyInstances(m: Model, connected: readonly { name: string; host: string }[]): void {
  const names = new Set(connected.map((i) => i.name));
  for (const inst of m.instances.values()) inst.connected = names.has(inst.name);
  for (const i of connected) {
    const known = m.instances.get(i.name);
    if (known) known.host = i.host;
    else m.instances.set(i.name, { name: i.name, host: i.host, connected: true });
  }
}

export function applyInstanceChange(m: Model, name: string, connected: boolean): void {
  const known = m.instances.get(name);
  if (known) known.connected = connected;
  else m.instances.set(name, { name, connected });
}

/** The deployed configuration: its instances and nodes are expected, whether reported or not. */
export function applyDeployed(m: Model, config: Configuration | undefined): void {
  m.deployed = config;
  if (!config) return;
  for (const i of config.instances) if (!m.instances.has(i.name)) m.instances.set(i.name, { name: i.name, connected: false });
  const names = new Set(config.nodes.map((n) => n.name));
  for (const n of config.nodes) {
    if (!m.nodes.has(n.name)) m.nodes.set(n.name, { name: n.name, instance: n.instance, role: n.role, state: 'UNKNOWN', samples: [] });
  }
  // Nodes of an earlier configuration that no agent reports any more.
  for (const [name, n] of m.nodes) if (!names.has(name) && n.seenAt === undefined) m.nodes.delete(name);
}

/**
 * A get_nodes answer: per instance, its node statuses (the agent and a
 * co-located controller among them). Nodes neither reported nor deployed
 * are forgotten; deployed ones not reported keep their last status, which
 * turns stale.
 */
export function applyNodeStatuses(m: Model, perInstance: readonly { instance: string; statuses: NodeStatus[] }[], errors: string[], now: number): void {
  m.nodeErrors = errors;
  const reported = new Set<string>();
  for (const { instance, statuses } of perInstance) {
    const inst = m.instances.get(instance) ?? { name: instance, connected: true };
    m.instances.set(instance, inst);
    for (const s of statuses) {
      if (s.mgmtRole === 'AGENT') inst.agent = s;
      if (s.clusterRole === 'NONE') continue;
      reported.add(s.node);
      const before = m.nodes.get(s.node);
      const view: NodeView = { name: s.node, instance, role: s.clusterRole, state: s.state, status: s, seenAt: now, samples: nextSamples(before, s) };
      m.nodes.set(s.node, view);
    }
  }
  const deployed = new Set(m.deployed?.nodes.map((n) => n.name) ?? []);
  for (const name of m.nodes.keys()) if (!reported.has(name) && !deployed.has(name)) m.nodes.delete(name);
}

function nextSamples(before: NodeView | undefined, s: NodeStatus): Sample[] {
  if (s.packetsReceived === undefined || s.captureTime === undefined) return [];
  const sample = { received: s.packetsReceived, dropped: s.packetsDropped ?? 0, at: Date.parse(s.captureTime) };
  const last = before?.samples[before.samples.length - 1];
  // Another process (pid) or counters that went back: start over.
  if (!last || before?.status?.pid !== s.pid || sample.received < last.received) return [sample];
  if (sample.at <= last.at) return before!.samples;
  return [last, sample];
}

/** A notify_change: the node's new state at once (its pid and figures come with the next get_nodes). */
export function applyChange(m: Model, instance: string, node: { name: string; role: ClusterRole }, to: State): void {
  const before = m.nodes.get(node.name);
  m.nodes.set(node.name, { samples: [], ...before, name: node.name, instance, role: node.role, state: to });
}

export function addEvent(m: Model, line: EventLine): void {
  m.events.unshift(line);
  if (m.events.length > MAX_EVENTS) m.events.length = MAX_EVENTS;
}

export function captureOf(n: NodeView): Capture | undefined {
  const last = n.samples[n.samples.length - 1];
  if (!last) return undefined;
  const share = (dropped: number, received: number): number => (received + dropped === 0 ? 0 : (dropped * 100) / (received + dropped));
  const first = n.samples.length > 1 ? n.samples[0]! : undefined;
  if (!first) return { received: last.received, dropped: last.dropped, dropPercent: share(last.dropped, last.received) };
  const seconds = (last.at - first.at) / 1000;
  return {
    received: last.received,
    dropped: last.dropped,
    dropPercent: share(last.dropped - first.dropped, last.received - first.received),
    pps: (last.received - first.received) / seconds,
  };
}

/** Stale: the controller is unreachable, the node's agent is not connected, or its status is old or missing. */
export function isStale(m: Model, n: NodeView, now: number): boolean {
  if (m.link !== 'open') return true;
  if (m.instances.get(n.instance)?.connected === false) return true;
  return n.seenAt === undefined || now - n.seenAt > STALE_MS;
}

export function severityOf(n: NodeView, stale: boolean, capture: Capture | undefined): Severity {
  if (n.state === 'CRASHED' || n.state === 'FAILED') return 'failed';
  if (stale || n.state === 'UNKNOWN') return 'stale';
  if (n.state !== 'RUNNING') return 'transient';
  if (capture && capture.dropPercent >= DROP_WARN_PERCENT) return 'overloaded';
  return 'ok';
}

const SEVERITY_ORDER: Severity[] = ['failed', 'stale', 'transient', 'overloaded', 'ok'];
const ROLE_ORDER: ClusterRole[] = ['MANAGER', 'LOGGER', 'PROXY', 'WORKER', 'NONE'];

/** The node table: problems first, then by instance, role and name. */
export function nodeRows(m: Model, now: number): NodeRow[] {
  return [...m.nodes.values()].map((n): NodeRow => {
    const stale = isStale(m, n, now);
    const capture = captureOf(n);
    return { ...n, stale, severity: severityOf(n, stale, capture), ...(capture ? { capture } : {}) };
  }).sort((a, b) =>
    SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity)
    || a.instance.localeCompare(b.instance)
    || ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role)
    || a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** One line per problem, worst first: what an operator should look at. */
export function problems(m: Model, rows: readonly NodeRow[], now: number): string[] {
  const out: string[] = [];
  if (m.link !== 'open') out.push(`controller unreachable${m.linkWhy ? ` (${m.linkWhy})` : ''}: everything shown is stale`);
  for (const i of [...m.instances.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!i.connected) out.push(`instance ${i.name} is not connected: its nodes are not reporting`);
  }
  for (const r of rows) {
    if (r.severity === 'failed') out.push(`${r.name} is ${r.state}${r.status?.lastExit ? `: ${r.status.lastExit.description}` : ''}`);
    else if (r.severity === 'stale' && m.link === 'open' && m.instances.get(r.instance)?.connected !== false) out.push(`${r.name} has not reported ${r.seenAt === undefined ? 'yet' : `for ${Math.round((now - r.seenAt) / 1000)} s`}`);
    else if (r.severity === 'transient') out.push(`${r.name} is ${r.state}`);
    else if (r.severity === 'overloaded') out.push(`${r.name} drops ${r.capture!.dropPercent.toFixed(2)}% of packets`);
  }
  for (const e of m.nodeErrors) out.push(e);
  return out;
}

/** How the previous process ended and how long ago, e.g. `killed by SIGKILL, 2m05s ago`. */
export function describeExit(e: ExitRecord | undefined, now: number): string {
  if (!e) return '';
  const ago = Math.max(0, (now - Date.parse(e.time)) / 1000);
  return `${e.description}, ${duration(ago)} ago`;
}
