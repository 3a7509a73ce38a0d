/**
 * Checks a configuration before it is staged. Every problem is reported (as
 * one message each, sorted, so results are deterministic); the original's
 * checks keep its wording, ours follow its style.
 */
import { isIP } from 'node:net';
import { portToString, type Port } from '../protocol/index.js';
import { ENV_NAME, NAME_MAX, configIdProblem, isUsableInterface, scriptProblem } from '../management/identifiers.js';
import { backendOf, type Configuration } from '../management/index.js';
import { FANOUT_ID, nodeOptionProblems, optionValue } from '../management/node-options.js';
import { backendPorts, nodesLackingBrokerPorts } from './ports.js';

export interface ValidationContext {
  /** The controller's port for agents. */
  controllerPort: number;
  /** The controller's port for clients (when known). */
  clientPort?: number;
  autoAssignPorts: boolean;
  /** Most nodes (and instances) a configuration may have (`--max-nodes`). */
  maxNodes?: number;
  /** Largest configuration, as stored (`--max-config-size`). */
  maxConfigBytes?: number;
}

/** Names become directory names, topics and Zeek table keys on the agents. */
const NAME_RE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${NAME_MAX - 1}}$`);
const NAME_RULE = `letters, digits, '.', '_', '-', at most ${NAME_MAX}`;

/** A configuration over a size limit is refused before anything else looks at it; undefined when within them. */
function sizeProblems(config: Configuration, ctx: ValidationContext): string[] | undefined {
  const errors: string[] = [];
  const max = ctx.maxNodes ?? Infinity;
  if (config.nodes.length > max) errors.push(`configuration has ${config.nodes.length} nodes, more than the limit of ${max} (--max-nodes)`);
  if (config.instances.length > max) errors.push(`configuration has ${config.instances.length} instances, more than the limit of ${max} (--max-nodes)`);
  if (errors.length === 0 && ctx.maxConfigBytes !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(config));
    if (bytes > ctx.maxConfigBytes) errors.push(`configuration of ${bytes} bytes exceeds the limit of ${ctx.maxConfigBytes} bytes (--max-config-size)`);
  }
  return errors.length > 0 ? errors : undefined;
}

function repeated(names: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return [...dup];
}

const showPort = (p: Port): string => portToString(p);

export function validateConfiguration(config: Configuration, ctx: ValidationContext): string[] {
  const tooBig = sizeProblems(config, ctx);
  if (tooBig) return tooBig;
  const errors: string[] = [];
  const idProblem = configIdProblem(config.id);
  if (idProblem) errors.push(`configuration id '${config.id.slice(0, 64)}' ${idProblem}`);
  const instNames = config.instances.map((i) => i.name);
  const nodeNames = config.nodes.map((n) => n.name);
  for (const name of repeated(instNames)) errors.push(`multiple instances named '${name}'`);
  for (const name of repeated(nodeNames)) errors.push(`multiple nodes named '${name}'`);
  const instSet = new Set(instNames);
  const both = [...new Set(nodeNames)].filter((n) => instSet.has(n)).sort();
  if (both.length > 0) errors.push(`node and instance names collide: ${both.join(', ')}`);

  for (const inst of config.instances) {
    if (!NAME_RE.test(inst.name)) errors.push(`instance name '${inst.name.slice(0, NAME_MAX)}' is not usable (${NAME_RULE})`);
    if (isIP(inst.host) === 0) errors.push(`instance '${inst.name}' has an invalid address '${inst.host}'`);
    if (inst.listenPort && inst.listenPort.number === 0) errors.push(`instance '${inst.name}' has listen port 0`);
  }

  const agentPorts = new Map<string, Set<number>>();
  for (const inst of config.instances) {
    if (inst.listenPort) agentPorts.set(inst.name, new Set([inst.listenPort.number]));
  }
  const usedPorts = new Map<string, Map<number, number>>();
  const pinned = new Map<string, string>();
  const fanout = new Map<string, string>();
  const controllerPorts = [ctx.controllerPort, ...(ctx.clientPort === undefined ? [] : [ctx.clientPort])];
  for (const node of config.nodes) {
    errors.push(...nodeOptionProblems(node));
    if (node.cpuAffinity !== undefined && node.cpuAffinity >= 0) {
      const key = `${node.instance}\0${node.cpuAffinity}`;
      const other = pinned.get(key);
      if (other !== undefined) errors.push(`nodes '${other}' and '${node.name}' on instance '${node.instance}' are both pinned to CPU ${node.cpuAffinity}`);
      else pinned.set(key, node.name);
    }
    const group = optionValue(node, FANOUT_ID);
    if (group !== undefined && node.interface !== undefined) {
      // One AF_PACKET fanout group per host serves one interface.
      const key = `${node.instance}\0${Number(group)}`;
      const iface = fanout.get(key);
      if (iface !== undefined && iface !== node.interface) {
        errors.push(`fanout group ${Number(group)} on instance '${node.instance}' is used for both ${iface} and ${node.interface}; give each interface its own af_packet_fanout_id`);
      } else fanout.set(key, node.interface);
    }
    if (!NAME_RE.test(node.name)) errors.push(`node name '${node.name.slice(0, NAME_MAX)}' is not usable (${NAME_RULE})`);
    if (!instSet.has(node.instance)) errors.push(`node '${node.name}' has undeclared instance name '${node.instance}'`);
    if (node.role === 'NONE') errors.push(`node '${node.name}' has no cluster role`);
    if (node.role === 'WORKER' && node.interface === undefined) errors.push(`worker '${node.name}' has no interface to sniff`);
    if (node.interface !== undefined && node.interface.trim() === '') errors.push(`node '${node.name}' has an empty interface name`);
    else if (node.interface !== undefined && !isUsableInterface(node.interface)) errors.push(`node '${node.name}' has an invalid interface name ${JSON.stringify(node.interface)}`);
    for (const script of node.scripts ?? []) {
      const problem = scriptProblem(script);
      if (problem) errors.push(`node '${node.name}' has a script ${JSON.stringify(script)} that ${problem}`);
    }
    if (node.cpuAffinity !== undefined && node.cpuAffinity < 0) errors.push(`node '${node.name}' has a negative cpu_affinity ${node.cpuAffinity}`);
    for (const [key, value] of Object.entries(node.env)) {
      if (!ENV_NAME.test(key)) errors.push(`node '${node.name}' has an invalid environment variable name '${key}'`);
      if (value.includes('\u0000')) errors.push(`node '${node.name}' has a NUL byte in environment variable ${key}`);
    }
    for (const [label, p] of [['port', node.port], ['metrics port', node.metricsPort]] as const) {
      if (p && p.number === 0) errors.push(`node '${node.name}' has ${label} 0`);
      if (p && p.protocol !== 'tcp') errors.push(`node '${node.name}' ${label} ${showPort(p)} is not a TCP port`);
    }
    if (node.metricsPort && node.port && node.metricsPort.number === node.port.number) {
      errors.push(`node '${node.name}' metrics port ${showPort(node.metricsPort)} equals its Broker port`);
    }
    if (node.metricsPort) {
      if (agentPorts.get(node.instance)?.has(node.metricsPort.number)) {
        errors.push(`node '${node.name}' metrics port ${showPort(node.metricsPort)} conflicts with agent port on instance '${node.instance}'`);
      }
      if (controllerPorts.includes(node.metricsPort.number)) errors.push(`node '${node.name}' metrics port ${showPort(node.metricsPort)} conflicts with controller port`);
    }
    if (!node.port) continue;
    if (agentPorts.get(node.instance)?.has(node.port.number)) {
      errors.push(`node '${node.name}' port ${showPort(node.port)} conflicts with agent port on instance '${node.instance}'`);
    }
    if (controllerPorts.includes(node.port.number)) errors.push(`node '${node.name}' port ${showPort(node.port)} conflicts with controller port`);
    let used = usedPorts.get(node.instance);
    if (!used) usedPorts.set(node.instance, (used = new Map()));
    const count = (used.get(node.port.number) ?? 0) + 1;
    used.set(node.port.number, count);
    if (count === 2) errors.push(`multiple nodes on instance '${node.instance}' using port ${showPort(node.port)}`);
  }
  errors.push(...validateManagers(config), ...validateMetricsPorts(config));
  if (!ctx.autoAssignPorts) {
    const lacking = nodesLackingBrokerPorts(config);
    if (lacking.length > 0) errors.push(`Broker port auto-assignment disabled but nodes ${lacking.join(', ')} lack ports`);
  }
  errors.push(...validateBackend(config, ctx, usedPorts, agentPorts));
  return [...new Set(errors)].sort();
}

/** A Zeek cluster has one manager (zeekctl insists too): none leaves the others nothing to peer with, two split it. */
function validateManagers(config: Configuration): string[] {
  if (config.nodes.length === 0) return [];
  const managers = config.nodes.filter((n) => n.role === 'MANAGER').map((n) => n.name).sort();
  if (managers.length === 1) return [];
  return [managers.length === 0
    ? 'the cluster has no manager; it needs exactly one (with ZeroMQ it also runs the XPUB/XSUB proxy every node connects to)'
    : `the cluster has ${managers.length} managers (${managers.join(', ')}); it needs exactly one`];
}

/**
 * Explicit metrics ports (auto-assigned ones never collide): two nodes on
 * one host with the same metrics port, or a metrics port that is another
 * node's Broker port there. Instances with the same address are one host.
 */
function validateMetricsPorts(config: Configuration): string[] {
  const errors: string[] = [];
  const hostOf = new Map(config.instances.map((i) => [i.name, i.host === '0.0.0.0' || i.host === '::' ? `instance '${i.name}'` : `host ${i.host}`]));
  const where = (instance: string): string => hostOf.get(instance) ?? `instance '${instance}'`;
  const taken = new Map<string, Map<number, string>>();
  const take = (host: string): Map<number, string> => taken.get(host) ?? taken.set(host, new Map()).get(host)!;
  for (const node of config.nodes) if (node.port) take(where(node.instance)).set(node.port.number, `the port of node '${node.name}'`);
  for (const node of [...config.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!node.metricsPort) continue;
    const host = where(node.instance);
    const holder = take(host).get(node.metricsPort.number);
    if (holder && holder !== `the port of node '${node.name}'`) {
      errors.push(`node '${node.name}' metrics port ${showPort(node.metricsPort)} is already ${holder} on ${host}`);
    } else if (!holder) take(host).set(node.metricsPort.number, `the metrics port of node '${node.name}'`);
  }
  return errors;
}

/** The cluster backend's settings: ZeroMQ's proxy ports (on the manager's instance) collide with nothing there. */
function validateBackend(config: Configuration, ctx: ValidationContext, usedPorts: Map<string, Map<number, number>>, agentPorts: Map<string, Set<number>>): string[] {
  const errors: string[] = [];
  const backend = backendOf(config);
  const proxy = [['xpub_port', config.cluster?.xpubPort], ['xsub_port', config.cluster?.xsubPort]] as const;
  if (backend !== 'zeromq') {
    for (const [key, p] of proxy) if (p) errors.push(`cluster ${key} ${showPort(p)} is a ZeroMQ setting, but the backend is ${backend}`);
    return errors;
  }
  const manager = config.nodes.find((n) => n.role === 'MANAGER');
  for (const [key, p] of proxy) {
    if (!p) continue;
    if (p.number === 0) errors.push(`cluster ${key} is 0`);
    if (p.protocol !== 'tcp') errors.push(`cluster ${key} ${showPort(p)} is not a TCP port`);
    if (p.number === ctx.controllerPort) errors.push(`cluster ${key} ${showPort(p)} conflicts with controller port`);
    if (!manager) continue;
    if (usedPorts.get(manager.instance)?.has(p.number)) errors.push(`cluster ${key} ${showPort(p)} conflicts with a node port on instance '${manager.instance}'`);
    if (agentPorts.get(manager.instance)?.has(p.number)) errors.push(`cluster ${key} ${showPort(p)} conflicts with agent port on instance '${manager.instance}'`);
  }
  const [xpub, xsub] = proxy.map(([, p]) => p);
  if (xpub && xsub && xpub.number === xsub.number) errors.push(`cluster xpub_port and xsub_port are both ${showPort(xpub)}`);
  if (!ctx.autoAssignPorts && manager && backendPorts(config).some((p) => p.number === undefined)) {
    errors.push('port auto-assignment disabled but the ZeroMQ cluster lacks xpub_port/xsub_port');
  }
  return errors;
}
