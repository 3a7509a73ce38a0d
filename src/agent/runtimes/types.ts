/**
 * A node runtime turns "run this cluster node" into a command line, an
 * environment and the files the node reads at start. The supervisor does
 * the rest (directories, output files, CPU affinity, process identity).
 */
import type { ClusterLayout } from '../../management/cluster-layout.js';
import type { Node } from '../../management/index.js';

/**
 * How the agent learns a node is up and reaches it:
 * - `listener`: the node listens for the agent's WebSocket session and says
 *   `notify_node_hello` on it;
 * - `cluster`: the node cannot host a listener (a ZeroMQ log sink: every
 *   WebSocket client would bind its log port a second time); it prints
 *   READY_LINE on stdout once up, and the agent reaches it through another
 *   node's session, over the cluster's pub/sub.
 */
export type ManagementPath = 'listener' | 'cluster';

/** What a `cluster` node prints on stdout once up (the rest of the line says why). */
export const READY_LINE = 'zeek-mgmt: node ready';

export type RuntimeKind = 'sim' | 'zeek';

export interface NodeLaunch {
  node: Node;
  layout: ClusterLayout;
  /** The node's working directory, `<state dir>/nodes/<name>`. */
  nodeDir: string;
  spoolDir: string;
  /** Where the node rotates its logs to (the archiver's queue). */
  logQueueDir: string;
  /** Where the node's management WebSocket listener must bind. */
  mgmtHost: string;
  mgmtPort: number;
}

export type CheckVerdict = { ok: true } | { ok: false; error: string };

export interface GeneratedFile {
  /** File name inside the node directory. */
  name: string;
  content: string;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  /** Runtime-specific variables, added on top of the node's own env. */
  env: Record<string, string>;
  files: GeneratedFile[];
}

export interface NodeRuntime {
  readonly kind: RuntimeKind;
  /** What is launched, for logs (binary path). */
  readonly describe: string;
  plan(launch: NodeLaunch): LaunchPlan;
  /**
   * Checks the node's scripts without starting it (zeekctl's `check`), as
   * `check` and every deploy do first: a process to run (`zeek -a`, the
   * node's own command line and files), or the verdict itself when the
   * runtime can tell without one.
   */
  check(launch: NodeLaunch): { run: LaunchPlan } | CheckVerdict;
  /**
   * A file in the node directory where a running node lists the scripts it
   * loaded (absolute paths, one a line), when the runtime writes one: a
   * running node then vouches for a parse of unchanged scripts.
   */
  readonly loadedScripts?: string;
  /** How the agent checks the node in and reaches it. */
  managementPath(node: Node, layout: ClusterLayout): ManagementPath;
}
