/**
 * What the agent remembers across restarts: the configuration it runs
 * (`<state dir>/agent-state.json`, written atomically), so that an adopted
 * cluster keeps its configuration id and dead nodes are brought back, and
 * the nodes an operator stopped, which stay stopped until started or
 * redeployed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Configuration } from '../management/index.js';
import { writePrivateFile } from '../management/private-files.js';

const FILE = 'agent-state.json';

interface Stored {
  version: 1;
  configuration: Configuration | null;
  /** Nodes of the configuration an operator stopped (absent in files of older agents). */
  stopped?: string[];
}

export interface AgentState {
  configuration: Configuration | undefined;
  stopped: string[];
}

export function stateFile(stateDir: string): string {
  return join(stateDir, FILE);
}

/** The stored configuration (`undefined` when none) and stopped nodes; throws with a clear message when the file is corrupt. */
export function loadAgentState(stateDir: string): AgentState {
  let text: string;
  try {
    text = readFileSync(stateFile(stateDir), 'utf8');
  } catch {
    return { configuration: undefined, stopped: [] };
  }
  const fail = (why: string): never => {
    throw new Error(`agent state file ${stateFile(stateDir)} is unreadable (${why}); move it away to start without a configuration`);
  };
  let raw: Partial<Stored>;
  try {
    raw = JSON.parse(text) as Partial<Stored>;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (raw.version !== 1) return fail(`unknown version ${JSON.stringify(raw.version)}`);
  const stopped = raw.stopped ?? [];
  if (!Array.isArray(stopped) || !stopped.every((n) => typeof n === 'string')) return fail('stopped is not a list of node names');
  const c = raw.configuration;
  if (c === null || c === undefined) return { configuration: undefined, stopped: [] };
  if (typeof c.id !== 'string' || !Array.isArray(c.instances) || !Array.isArray(c.nodes)) return fail('configuration lacks id, instances or nodes');
  for (const n of c.nodes) {
    if (typeof n?.name !== 'string' || typeof n.instance !== 'string' || typeof n.role !== 'string' || typeof n.env !== 'object') {
      return fail('a node lacks name, instance, role or env');
    }
  }
  return { configuration: c, stopped };
}

export function saveAgentState(stateDir: string, configuration: Configuration | undefined, stopped: readonly string[] = []): void {
  const stored: Stored = { version: 1, configuration: configuration ?? null, stopped: [...stopped].sort() };
  // 0600: the configuration holds the nodes' env, secrets included.
  writePrivateFile(stateFile(stateDir), `${JSON.stringify(stored, null, 2)}\n`);
}
