/**
 * A node runtime turns "run this cluster node" into a command line, an
 * environment and the files the node reads at start. The supervisor does
 * the rest (directories, output files, CPU affinity, process identity).
 */
import type { ClusterLayout } from '../../management/cluster-layout.js';
import type { Node } from '../../management/index.js';

export type RuntimeKind = 'sim' | 'zeek';

export interface NodeLaunch {
  node: Node;
  layout: ClusterLayout;
  /** The node's working directory, `<state dir>/nodes/<name>`. */
  nodeDir: string;
  spoolDir: string;
  /** Where the node's management WebSocket listener must bind. */
  mgmtHost: string;
  mgmtPort: number;
}

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
}
