/**
 * Checks a configuration the agent is asked to run, before anything is
 * touched: the agent must be able to lay out every node of its instance
 * (names usable as directory names, declared instances, sane env and
 * scripts), within what its host allows (CPUs, ports the agent holds).
 * Returns one sorted error text per problem.
 */
import type { Configuration } from '../management/index.js';

const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What only the agent knows about its host. */
export interface HostLimits {
  /** CPUs this process may run on (cpu_affinity counts from 0). */
  cpus: number;
  /** Ports the agent itself listens on. */
  ownPorts: number[];
}

export function validateConfiguration(config: Configuration, instance: string, host?: HostLimits): string[] {
  const errors: string[] = [];
  const instances = new Set<string>();
  for (const i of config.instances) {
    if (instances.has(i.name)) errors.push(`instance ${JSON.stringify(i.name)} is declared more than once`);
    instances.add(i.name);
  }
  const names = new Set<string>();
  for (const node of config.nodes) {
    const n = JSON.stringify(node.name);
    if (names.has(node.name)) errors.push(`node name ${n} is used more than once`);
    names.add(node.name);
    if (!instances.has(node.instance)) errors.push(`node ${n} names instance ${JSON.stringify(node.instance)}, which the configuration does not declare`);
    if (node.role === 'NONE') errors.push(`node ${n} has no cluster role (manager, logger, proxy or worker)`);
    if (node.instance !== instance) continue;
    if (node.name === instance) errors.push(`node ${n} has the name of its agent; names are unique across agents, controller and nodes`);
    if (!NODE_NAME.test(node.name)) errors.push(`node name ${n} cannot be used as a directory name: use letters, digits, '_', '.', ':' and '-' (at most 128, not starting with '.' or '-')`);
    if (node.interface !== undefined && (node.interface === '' || CONTROL.test(node.interface) || /\s/.test(node.interface))) {
      errors.push(`node ${n} has an invalid interface ${JSON.stringify(node.interface)}`);
    }
    if (node.cpuAffinity !== undefined && node.cpuAffinity < 0) errors.push(`node ${n} has a negative cpu_affinity ${node.cpuAffinity}`);
    if (host && node.cpuAffinity !== undefined && node.cpuAffinity >= host.cpus) {
      errors.push(`node ${n} has cpu_affinity ${node.cpuAffinity}, but instance ${instance} has ${host.cpus} CPU${host.cpus === 1 ? '' : 's'} (0-${host.cpus - 1})`);
    }
    for (const [what, p] of [['port', node.port], ['metrics port', node.metricsPort]] as const) {
      if (host && p && host.ownPorts.includes(p.number)) errors.push(`node ${n} ${what} ${p.number} is the port agent ${instance} listens on`);
    }
    for (const script of node.scripts ?? []) {
      if (script === '' || CONTROL.test(script)) errors.push(`node ${n} has an invalid script name ${JSON.stringify(script)}`);
      // zeek would take these for an option or a NAME=VALUE redef.
      else if (script.startsWith('-') || script.includes('=')) errors.push(`node ${n} has a script ${JSON.stringify(script)} that zeek would read as an option or a redef (no leading '-', no '=')`);
    }
    for (const [key, value] of Object.entries(node.env)) {
      if (!ENV_NAME.test(key)) errors.push(`node ${n} has an invalid environment variable name ${JSON.stringify(key)}`);
      if (value.includes('\u0000')) errors.push(`node ${n} has a NUL byte in environment variable ${key}`);
    }
  }
  return errors.sort();
}
