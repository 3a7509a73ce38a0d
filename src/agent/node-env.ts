/**
 * A node's environment, the same for its launch and its script check: the
 * agent's own, the configuration's `env`, the runtime's additions, then
 * what every node is told (its name, state and spool directories).
 */
import type { Node } from '../management/index.js';

export function nodeEnvironment(node: Node, runtimeEnv: Record<string, string>, dir: string, spoolDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env, ...node.env, ...runtimeEnv,
    CLUSTER_NODE: node.name,
    ZEEK_MANAGEMENT_STATE_DIR: dir,
    ZEEK_MANAGEMENT_SPOOL_DIR: spoolDir,
  };
}
