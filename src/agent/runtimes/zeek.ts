/**
 * The `zeek` runtime: the real zeek binary, started the way zeekctl starts a
 * cluster node — `CLUSTER_NODE` in the environment, `-i <interface>` for
 * workers (with `-C` on a loopback interface, whose checksums are never
 * filled in), the generated scripts (zeek-files.ts), the cluster backend's
 * package, then the node's own scripts. zeek has no end-of-options marker
 * (`--` starts the scripts' own arguments) and reads `NAME=VALUE` as a redef,
 * so script entries that start with `-` or hold `=` are refused before any
 * launch (validate.ts).
 */
import { readFileSync } from 'node:fs';
import type { ClusterLayout, LayoutNode } from '../../management/cluster-layout.js';
import type { Node } from '../../management/index.js';
import { BACKEND_SCRIPT, LAYOUT_SCRIPT, LOADED_SCRIPTS, NODE_SCRIPT, renderBackendScript, renderClusterLayout, renderNodeScript } from './zeek-files.js';
import { atLeast, type ZeekVersion } from './zeek-version.js';
import type { LaunchPlan, ManagementPath, NodeLaunch, NodeRuntime } from './types.js';

export { LAYOUT_SCRIPT, BACKEND_SCRIPT, NODE_SCRIPT, LOADED_SCRIPTS, renderClusterLayout } from './zeek-files.js';

/** ARPHRD_LOOPBACK, as /sys/class/net/<if>/type shows it. */
const ARPHRD_LOOPBACK = '772';

/** Whether a capture interface is a loopback device (`lo`, `af_packet::lo`). */
export function isLoopbackInterface(name: string): boolean {
  const bare = name.includes('::') ? name.slice(name.lastIndexOf('::') + 2) : name;
  if (bare === '' || bare.includes('/') || bare.startsWith('.')) return false;
  try {
    return readFileSync(`/sys/class/net/${bare}/type`, 'utf8').trim() === ARPHRD_LOOPBACK;
  } catch {
    return false;
  }
}

/** The script package that selects the backend (none for Broker on 8.0, where it is the default). */
function backendPackage(backend: 'zeromq' | 'broker', version: ZeekVersion): string[] {
  if (backend === 'zeromq') return ['frameworks/cluster/backend/zeromq'];
  return atLeast(version, 8, 1) ? ['frameworks/cluster/backend/broker'] : [];
}

/** ZEEKPATH with `.` first, so that the node finds its cluster-layout.zeek (unchanged when unset: Zeek's default has it). */
function zeekPathEnv(launch: NodeLaunch): Record<string, string> {
  const configured = launch.node.env.ZEEKPATH ?? process.env.ZEEKPATH;
  if (configured === undefined || configured === '') return {};
  const parts = configured.split(':');
  return parts.includes('.') ? {} : { ZEEKPATH: ['.', ...parts].join(':') };
}

/**
 * A ZeroMQ log sink (a logger; the manager when there is none) binds its log
 * port in every backend instance, and Zeek makes one per WebSocket client:
 * such a node cannot serve the agent's session.
 */
export function zeekManagementPath(node: Node, layout: ClusterLayout): ManagementPath {
  if (layout.backend !== 'zeromq') return 'listener';
  const sink = node.role === 'LOGGER' || (node.role === 'MANAGER' && !layout.nodes.some((n) => n.role === 'LOGGER'));
  return sink ? 'cluster' : 'listener';
}

export function zeekRuntime(zeekPath: string, version: ZeekVersion): NodeRuntime {
  const plan = (launch: NodeLaunch, parseOnly: boolean): LaunchPlan => {
    const { node, layout } = launch;
    const self: LayoutNode = layout.nodes.find((n) => n.name === node.name) ?? { name: node.name, role: 'WORKER', ip: launch.mgmtHost };
    const args: string[] = [];
    if (parseOnly) args.push('-a');
    if (node.interface !== undefined) {
      if (isLoopbackInterface(node.interface)) args.push('-C');
      args.push('-i', node.interface);
    }
    args.push(...backendPackage(layout.backend, version), `./${BACKEND_SCRIPT}`, `./${NODE_SCRIPT}`, ...(node.scripts ?? []));
    return {
      command: zeekPath,
      args,
      env: zeekPathEnv(launch),
      files: [
        { name: LAYOUT_SCRIPT, content: renderClusterLayout(layout) },
        { name: BACKEND_SCRIPT, content: renderBackendScript(layout, self) },
        {
          name: NODE_SCRIPT,
          content: renderNodeScript({
            node: node.name, mgmtHost: launch.mgmtHost, mgmtPort: launch.mgmtPort, logQueueDir: launch.logQueueDir,
            path: zeekManagementPath(node, layout),
          }),
        },
      ],
    };
  };
  return {
    kind: 'zeek',
    describe: `${zeekPath} (Zeek ${version.text})`,
    plan: (launch) => plan(launch, false),
    check: (launch) => ({ run: plan(launch, true) }),
    managementPath: zeekManagementPath,
    loadedScripts: LOADED_SCRIPTS,
  };
}
