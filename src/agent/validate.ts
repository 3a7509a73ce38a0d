/**
 * Checks a configuration the agent is asked to run, before anything is
 * touched: the agent must be able to lay out every node of its instance
 * (names usable as directory names, declared instances, sane env and
 * scripts), within what its host allows (CPUs, ports the agent holds).
 * Returns one sorted error text per problem.
 */
import { ENV_NAME, USABLE_NAME, configIdProblem, isUsableInterface, scriptProblem } from '../management/identifiers.js';
import type { Configuration } from '../management/index.js';
import { nodeOptionProblems } from '../management/node-options.js';
import { formatCpuList } from './host-cpus.js';
import { envRefusal, type EnvPolicy } from './env-policy.js';

/** What only the agent knows about its host. */
export interface HostLimits {
  /** The CPUs nodes may be pinned to (host-cpus.ts: this process's affinity). */
  cpus: readonly number[];
  /** Ports the agent itself listens on. */
  ownPorts: readonly number[];
}

/**
 * `policy`: which environment variables a configuration may set
 * (env-policy.ts). `host`: undefined skips the host's checks (a stored
 * configuration at start: a node pinned to a CPU the agent lost fails on
 * its own, the rest still run).
 */
export function validateConfiguration(config: Configuration, instance: string, policy: EnvPolicy, host?: HostLimits): string[] {
  const errors: string[] = [];
  const pinned = new Map<number, string>();
  const idProblem = configIdProblem(config.id);
  if (idProblem) errors.push(`configuration id ${JSON.stringify(config.id.slice(0, 64))} ${idProblem}`);
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
    if (!USABLE_NAME.test(node.name)) errors.push(`node name ${n} cannot be used as a directory name: use letters, digits, '_', '.', ':' and '-' (at most 128, not starting with '.' or '-')`);
    if (node.interface !== undefined && !isUsableInterface(node.interface)) {
      errors.push(`node ${n} has an invalid interface ${JSON.stringify(node.interface)}`);
    }
    if (node.cpuAffinity !== undefined) {
      const cpu = node.cpuAffinity;
      if (host && !host.cpus.includes(cpu)) errors.push(`node ${n} is pinned to CPU ${cpu}, but instance ${instance} has CPUs ${formatCpuList(host.cpus)}`);
      const other = pinned.get(cpu);
      if (other !== undefined) errors.push(`nodes ${JSON.stringify(other)} and ${n} are both pinned to CPU ${cpu}`);
      pinned.set(cpu, node.name);
    }
    for (const [what, p] of [['port', node.port], ['metrics port', node.metricsPort]] as const) {
      if (host && p && host.ownPorts.includes(p.number)) errors.push(`node ${n} ${what} ${p.number} is the port agent ${instance} listens on`);
    }
    errors.push(...nodeOptionProblems(node));
    for (const script of node.scripts ?? []) {
      const problem = scriptProblem(script);
      if (problem) errors.push(`node ${n} has a script ${JSON.stringify(script)} that ${problem}`);
    }
    for (const [key, value] of Object.entries(node.env)) {
      if (!ENV_NAME.test(key)) errors.push(`node ${n} has an invalid environment variable name ${JSON.stringify(key)}`);
      else {
        const refused = envRefusal(key, policy);
        if (refused) errors.push(`node ${n}: environment variable ${refused}`);
      }
      if (value.includes('\u0000')) errors.push(`node ${n} has a NUL byte in environment variable ${key}`);
    }
  }
  return errors.sort();
}
