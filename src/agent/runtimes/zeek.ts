/**
 * The `zeek` runtime: the real zeek binary, started the way zeekctl starts a
 * cluster node — `CLUSTER_NODE` in the environment, `-i <interface>` for
 * workers (with `-C` on a loopback interface, whose checksums are never
 * filled in), the generated scripts (zeek-files.ts), the cluster backend's
 * package, the node's options (`af_packet_*`), its script bundle (site.ts;
 * its directory also goes on ZEEKPATH, after `.`), then its own scripts. zeek has no end-of-options marker
 * (`--` starts the scripts' own arguments) and reads `NAME=VALUE` as a redef,
 * so script entries that start with `-` or hold `=` are refused before any
 * launch (validate.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ClusterLayout, LayoutNode } from '../../management/cluster-layout.js';
import type { Node } from '../../management/index.js';
import {
  BACKEND_SCRIPT, LAYOUT_SCRIPT, LOADED_SCRIPTS, NODE_SCRIPT, OPTIONS_SCRIPT, renderBackendScript, renderClusterLayout, renderNodeScript, renderOptionsScript,
} from './zeek-files.js';
import { siteDir, siteEntry } from './site.js';
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

/**
 * ZEEKPATH with `.` first, so that the node finds its cluster-layout.zeek
 * (unchanged when unset: Zeek's default has it), then the node's bundle
 * directory, before Zeek's own: a bundle's `local.zeek` is the `local` that
 * `@load local` finds, as zeekctl's site directory is.
 */
function zeekPathEnv(launch: NodeLaunch, builtin: () => string | undefined): Record<string, string> {
  const configured = launch.node.env.ZEEKPATH ?? process.env.ZEEKPATH;
  const site = siteDir(launch);
  const base = configured === undefined || configured === '' ? (site === undefined ? undefined : builtin()) : configured;
  if (base === undefined) return {};
  const parts = base.split(':').filter((p) => p !== '.' && p !== site);
  const path = ['.', ...(site === undefined ? [] : [site]), ...parts].join(':');
  return path === base ? {} : { ZEEKPATH: path };
}

/** Zeek's built-in ZEEKPATH, as `zeek --help` shows it; undefined when it does not say. */
export function builtinZeekPath(zeekPath: string): string | undefined {
  try {
    const help = execFileSync(zeekPath, ['--help'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /\$ZEEKPATH\s*\|[^(]*\(([^)]*)\)/.exec(help)?.[1];
  } catch {
    return undefined;
  }
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
  let builtin: { path: string | undefined } | undefined;
  const builtinPath = (): string | undefined => (builtin ??= { path: builtinZeekPath(zeekPath) }).path;
  const plan = (launch: NodeLaunch, parseOnly: boolean): LaunchPlan => {
    const { node, layout } = launch;
    const self: LayoutNode = layout.nodes.find((n) => n.name === node.name) ?? { name: node.name, role: 'WORKER', ip: launch.mgmtHost };
    const args: string[] = [];
    if (parseOnly) args.push('-a');
    if (node.interface !== undefined) {
      if (isLoopbackInterface(node.interface)) args.push('-C');
      args.push('-i', node.interface);
    }
    const options = renderOptionsScript(node);
    const site = siteEntry(launch);
    args.push(
      ...backendPackage(layout.backend, version), `./${BACKEND_SCRIPT}`, `./${NODE_SCRIPT}`,
      ...(options === undefined ? [] : [`./${OPTIONS_SCRIPT}`]), ...(site === undefined ? [] : [site]), ...(node.scripts ?? []),
    );
    return {
      command: zeekPath,
      args,
      env: zeekPathEnv(launch, builtinPath),
      files: [
        ...(options === undefined ? [] : [{ name: OPTIONS_SCRIPT, content: options }]),
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
