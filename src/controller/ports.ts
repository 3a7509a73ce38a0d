/**
 * Port auto-assignment for a READY configuration, by the original's rules:
 * Broker ports count up from one start across all instances, for managers,
 * then loggers, then proxies, grouped by instance and sorted by name,
 * skipping ports taken by agents or spelled out in the configuration.
 * Metrics ports count up per host, for every role, skipping that host's
 * taken ports. The cluster backend's own ports (ZeroMQ's XPUB/XSUB proxy on
 * the manager) follow the Broker ports, from the same count.
 */
import { backendOf, type ClusterRole, type Configuration, type Node } from '../management/index.js';

const BROKER_ORDER: Partial<Record<ClusterRole, number>> = { MANAGER: 0, LOGGER: 1, PROXY: 2 };
const METRICS_ORDER: Partial<Record<ClusterRole, number>> = { MANAGER: 0, LOGGER: 1, PROXY: 2, WORKER: 3 };

function byInstanceRoleName(order: Partial<Record<ClusterRole, number>>) {
  return (a: Node, b: Node): number =>
    cmp(a.instance, b.instance) || (order[a.role]! - order[b.role]!) || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Nodes that need a Broker port but have none. */
export function nodesLackingBrokerPorts(config: Configuration): string[] {
  return config.nodes.filter((n) => BROKER_ORDER[n.role] !== undefined && !n.port).map((n) => n.name).sort(cmp);
}

/** `reserved`: ports that are never assigned (the controller's own listeners). */
export function assignBrokerPorts(config: Configuration, start: number, reserved: readonly number[] = []): Configuration {
  const taken = new Set<number>(reserved);
  for (const inst of config.instances) if (inst.listenPort) taken.add(inst.listenPort.number);
  for (const node of config.nodes) if (node.port) taken.add(node.port.number);
  const todo = config.nodes.filter((n) => !n.port && BROKER_ORDER[n.role] !== undefined).sort(byInstanceRoleName(BROKER_ORDER));
  const assigned = new Map<Node, number>();
  let next = start;
  for (const node of todo) {
    while (taken.has(next)) next++;
    assigned.set(node, next);
    taken.add(next);
    next++;
  }
  return withPorts(config, assigned, 'port');
}

/** The ports the configuration's backend needs beyond the nodes' own (ZeroMQ: the manager's proxy), named. */
export function backendPorts(config: Configuration): { name: 'xpub_port' | 'xsub_port'; number: number | undefined }[] {
  if (backendOf(config) !== 'zeromq' || !config.nodes.some((n) => n.role === 'MANAGER')) return [];
  return [{ name: 'xpub_port', number: config.cluster?.xpubPort?.number }, { name: 'xsub_port', number: config.cluster?.xsubPort?.number }];
}

/** The backend spelled out, and its missing ports counted on from the Broker ports' start, past every port taken. */
export function assignBackendPorts(config: Configuration, start: number, reserved: readonly number[] = []): Configuration {
  const cluster = { ...config.cluster, backend: backendOf(config) };
  const needed = backendPorts(config);
  if (needed.every((p) => p.number !== undefined)) return { ...config, cluster };
  const taken = new Set<number>(reserved);
  for (const inst of config.instances) if (inst.listenPort) taken.add(inst.listenPort.number);
  for (const node of config.nodes) if (node.port) taken.add(node.port.number);
  for (const p of needed) if (p.number !== undefined) taken.add(p.number);
  let next = start;
  const pick = (): { number: number; protocol: 'tcp' } => {
    while (taken.has(next)) next++;
    taken.add(next);
    return { number: next++, protocol: 'tcp' };
  };
  if (!cluster.xpubPort) cluster.xpubPort = pick();
  if (!cluster.xsubPort) cluster.xsubPort = pick();
  return { ...config, cluster };
}

export function assignMetricsPorts(config: Configuration, start: number, reserved: readonly number[] = []): Configuration {
  const hostOf = new Map(config.instances.map((i) => [i.name, i.host]));
  const taken = new Map<string, Set<number>>();
  const takenOn = (host: string): Set<number> => {
    let set = taken.get(host);
    if (!set) taken.set(host, (set = new Set(reserved)));
    return set;
  };
  for (const inst of config.instances) if (inst.listenPort) takenOn(inst.host).add(inst.listenPort.number);
  for (const node of config.nodes) {
    const host = hostOf.get(node.instance) ?? '';
    if (node.port) takenOn(host).add(node.port.number);
    if (node.metricsPort) takenOn(host).add(node.metricsPort.number);
  }
  const manager = config.nodes.find((n) => n.role === 'MANAGER');
  for (const p of backendPorts(config)) if (manager && p.number !== undefined) takenOn(hostOf.get(manager.instance) ?? '').add(p.number);
  const next = new Map<string, number>();
  const todo = config.nodes.filter((n) => !n.metricsPort && METRICS_ORDER[n.role] !== undefined).sort(byInstanceRoleName(METRICS_ORDER));
  const assigned = new Map<Node, number>();
  for (const node of todo) {
    const host = hostOf.get(node.instance) ?? '';
    const used = takenOn(host);
    let p = next.get(host) ?? start;
    while (used.has(p)) p++;
    assigned.set(node, p);
    used.add(p);
    next.set(host, p + 1);
  }
  return withPorts(config, assigned, 'metricsPort');
}

function withPorts(config: Configuration, assigned: Map<Node, number>, field: 'port' | 'metricsPort'): Configuration {
  if (assigned.size === 0) return config;
  return {
    ...config,
    nodes: config.nodes.map((n) => {
      const p = assigned.get(n);
      return p === undefined ? n : { ...n, [field]: { number: p, protocol: 'tcp' } };
    }),
  };
}
