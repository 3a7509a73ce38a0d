/**
 * The global identifiers a simulated node can show, rendered the way Zeek's
 * `to_json()` renders them: enums as `"Module::NAME"`, ports as
 * `{"port": n, "proto": "tcp"}`, intervals as Zeek describes them
 * (`"1.0 hr"`, `"0 secs"`), records as objects of their set fields in
 * declaration order, tables as objects keyed by index.
 */
import type { ClusterLayout, LayoutNode } from '../management/cluster-layout.js';
import type { Port } from '../protocol/values.js';

export const SIM_ZEEK_VERSION = '8.0.0';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const portJson = (p: Port): Json => ({ port: p.number, proto: p.protocol === 'unknown' ? 'unknown' : p.protocol });

/** Cluster::Node: node_type, ip, zone_id, p, manager?, id?, metrics_port?. */
function clusterNodeJson(n: LayoutNode): Json {
  const rec: { [key: string]: Json } = {
    node_type: `Cluster::${n.role}`,
    ip: n.ip,
    zone_id: '',
    p: portJson(n.port ?? { number: 0, protocol: 'unknown' }),
  };
  if (n.manager !== undefined) rec.manager = n.manager;
  if (n.metricsPort) rec.metrics_port = portJson(n.metricsPort);
  return rec;
}

export interface NodeContext {
  node: string;
  layout: ClusterLayout;
  scripts: string[];
  logQueueDir: string;
}

const JSON_LOG_SCRIPTS = new Set(['policy/tuning/json-logs', 'tuning/json-logs', 'policy/tuning/json-logs.zeek']);

/** The globals of this node, by name. */
export function buildGlobals(ctx: NodeContext): Map<string, Json> {
  const self = ctx.layout.nodes.find((n) => n.name === ctx.node);
  const hasLogger = ctx.layout.nodes.some((n) => n.role === 'LOGGER');
  const rotates = self?.role === 'LOGGER' || (self?.role === 'MANAGER' && !hasLogger);
  const [major, minor, patch] = SIM_ZEEK_VERSION.split('.').map(Number) as [number, number, number];
  const nodes: { [key: string]: Json } = {};
  for (const n of ctx.layout.nodes) nodes[n.name] = clusterNodeJson(n);
  return new Map<string, Json>([
    ['Cluster::node', ctx.node],
    ['Cluster::nodes', nodes],
    ['Cluster::manager_is_logger', !hasLogger],
    ['Cluster::local_node_type', 'Cluster::local_node_type'],
    ['peer_description', ctx.node],
    ['LogAscii::use_json', ctx.scripts.some((s) => JSON_LOG_SCRIPTS.has(s))],
    ['Log::default_rotation_interval', rotates ? '1.0 hr' : '0 secs'],
    ['Log::default_rotation_dir', ctx.logQueueDir],
    ['Log::enable_local_logging', self?.role === 'LOGGER' || (self?.role === 'MANAGER' && !hasLogger)],
    ['Log::enable_remote_logging', self?.role !== 'LOGGER'],
    ['Broker::default_port', portJson({ number: 9999, protocol: 'tcp' })],
    ['Broker::default_listen_address', ''],
    ['Site::local_nets', []],
    ['Management::Node::node_topic', 'zeek/management/node'],
    ['zeek_version', 'zeek_version'],
    ['Version::number', major * 10000 + minor * 100 + patch],
    ['Version::info', { major, minor, patch, commit: 0, beta: false, debug: false, version_number: major * 10000 + minor * 100 + patch, version_string: SIM_ZEEK_VERSION }],
  ]);
}
