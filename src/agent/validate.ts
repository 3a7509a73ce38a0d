/**
 * Checks a configuration the agent is asked to run, before anything is
 * touched: the agent must be able to lay out every node of its instance
 * (names usable as directory names, declared instances, sane env and
 * scripts). Returns one sorted error text per problem.
 */
import { ENV_NAME, USABLE_NAME, configIdProblem, isUsableInterface, scriptProblem } from '../management/identifiers.js';
import type { Configuration } from '../management/index.js';

export function validateConfiguration(config: Configuration, instance: string): string[] {
  const errors: string[] = [];
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
    if (node.cpuAffinity !== undefined && node.cpuAffinity < 0) errors.push(`node ${n} has a negative cpu_affinity ${node.cpuAffinity}`);
    for (const script of node.scripts ?? []) {
      const problem = scriptProblem(script);
      if (problem) errors.push(`node ${n} has a script ${JSON.stringify(script)} that ${problem}`);
    }
    for (const [key, value] of Object.entries(node.env)) {
      if (!ENV_NAME.test(key)) errors.push(`node ${n} has an invalid environment variable name ${JSON.stringify(key)}`);
      if (value.includes('\u0000')) errors.push(`node ${n} has a NUL byte in environment variable ${key}`);
    }
  }
  return errors.sort();
}
