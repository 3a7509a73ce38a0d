/**
 * The cluster layout a node reads at start: Zeek's `Cluster::nodes` table
 * built from a configuration (every node of every instance, with its
 * instance's address), as the Supervisor's `__init_cluster_nodes` fills it.
 * The agent writes it for a node; the simulated node reads it back (JSON),
 * the zeek runtime renders it as `cluster-layout.zeek`.
 */
import type { Outcome } from '../protocol/errors.js';
import type { Port } from '../protocol/values.js';
import { backendOf, CLUSTER_BACKENDS, type ClusterBackend, type ClusterRole, type Configuration } from './types.js';

export interface LayoutNode {
  name: string;
  role: Exclude<ClusterRole, 'NONE'>;
  /** The node's instance address. */
  ip: string;
  port?: Port;
  metricsPort?: Port;
  interface?: string;
  /** The manager's name, for every node but the manager. */
  manager?: string;
}

export interface ClusterLayout {
  /** Configuration id the layout was built from. */
  configId: string;
  nodes: LayoutNode[];
  backend: ClusterBackend;
  /** ZeroMQ: the ports of the manager's XPUB/XSUB proxy (on the manager's address). */
  xpubPort?: number;
  xsubPort?: number;
  /** The script bundle every node loads (its hash), unpacked into each node's directory. */
  bundle?: string;
}

export function buildClusterLayout(config: Configuration): ClusterLayout {
  const hosts = new Map(config.instances.map((i) => [i.name, i.host]));
  const manager = config.nodes.find((n) => n.role === 'MANAGER')?.name;
  const nodes = [...config.nodes]
    .filter((n) => n.role !== 'NONE')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n): LayoutNode => {
      const entry: LayoutNode = { name: n.name, role: n.role as LayoutNode['role'], ip: hosts.get(n.instance) ?? '127.0.0.1' };
      if (n.port && n.port.number !== 0) entry.port = n.port;
      if (n.metricsPort) entry.metricsPort = n.metricsPort;
      if (n.interface !== undefined) entry.interface = n.interface;
      if (manager !== undefined && n.role !== 'MANAGER') entry.manager = manager;
      return entry;
    });
  const layout: ClusterLayout = { configId: config.id, nodes, backend: backendOf(config) };
  if (config.cluster?.bundle) layout.bundle = config.cluster.bundle;
  if (layout.backend === 'zeromq') {
    if (config.cluster?.xpubPort) layout.xpubPort = config.cluster.xpubPort.number;
    if (config.cluster?.xsubPort) layout.xsubPort = config.cluster.xsubPort.number;
  }
  return layout;
}

/** The ports a node listens on for its cluster backend beyond its own `p` (ZeroMQ's proxy on the manager). */
export function backendPortsOf(layout: ClusterLayout, role: ClusterRole): Record<string, number> {
  if (layout.backend !== 'zeromq' || role !== 'MANAGER') return {};
  const ports: Record<string, number> = {};
  if (layout.xpubPort !== undefined) ports.xpub = layout.xpubPort;
  if (layout.xsubPort !== undefined) ports.xsub = layout.xsubPort;
  return ports;
}

/** Reads a layout back from its JSON text, or says why it is not one. */
export function parseClusterLayout(text: string): Outcome<ClusterLayout> {
  const fail = (error: string): Outcome<ClusterLayout> => ({ ok: false, error });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  const layout = raw as Partial<ClusterLayout>;
  if (typeof layout !== 'object' || layout === null || !Array.isArray(layout.nodes)) return fail('expected {"configId", "nodes": [...]}');
  for (const [i, n] of layout.nodes.entries()) {
    if (typeof n?.name !== 'string' || typeof n.role !== 'string' || typeof n.ip !== 'string') return fail(`nodes[${i}] needs name, role and ip`);
  }
  const backend = layout.backend ?? 'zeromq';
  if (!(CLUSTER_BACKENDS as readonly string[]).includes(backend)) return fail(`unknown backend ${JSON.stringify(backend)}`);
  const parsed: ClusterLayout = { configId: String(layout.configId ?? ''), nodes: layout.nodes, backend };
  if (typeof layout.xpubPort === 'number') parsed.xpubPort = layout.xpubPort;
  if (typeof layout.xsubPort === 'number') parsed.xsubPort = layout.xsubPort;
  return { ok: true, value: parsed };
}
