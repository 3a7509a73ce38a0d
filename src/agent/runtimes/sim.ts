/**
 * The `sim` runtime: the bundled simulated node (dist/src/node/sim.js) run
 * by this same Node.js binary, with the cluster layout as JSON.
 */
import { fileURLToPath } from 'node:url';
import { missingScript } from '../../management/script-paths.js';
import { siteEntry } from './site.js';
import type { CheckVerdict, LaunchPlan, NodeLaunch, NodeRuntime } from './types.js';

export const SIM_SCRIPT = fileURLToPath(new URL('../../node/sim.js', import.meta.url));
export const SIM_LAYOUT_FILE = 'cluster-layout.json';

export function simRuntime(nodeBinary = process.execPath): NodeRuntime {
  return {
    kind: 'sim',
    describe: `${nodeBinary} ${SIM_SCRIPT}`,
    plan,
    check: (launch) => check(launch),
    managementPath: () => 'listener',
  };

  /** What the simulated node's `--parse-only` checks, without a process: its script paths exist (relative to its directory). */
  function check(launch: NodeLaunch): CheckVerdict {
    for (const script of [...site(launch), ...launch.node.scripts ?? []]) {
      const problem = missingScript(script, launch.nodeDir);
      if (problem) return { ok: false, error: problem };
    }
    return { ok: true };
  }

  function site(launch: NodeLaunch): string[] {
    const entry = siteEntry(launch);
    return entry ? [entry] : [];
  }

  function plan(launch: NodeLaunch): LaunchPlan {
    const args = [SIM_SCRIPT, '--layout', SIM_LAYOUT_FILE];
    if (launch.node.interface !== undefined) args.push('-i', launch.node.interface);
    // `--` ends the options: no script entry can become one (validate.ts refuses a leading '-' as well).
    args.push('--', ...site(launch), ...(launch.node.scripts ?? []));
    return {
      command: nodeBinary,
      args,
      env: { ZEEK_MGMT_NODE_PORT: String(launch.mgmtPort), ZEEK_MGMT_NODE_ADDR: launch.mgmtHost, ZEEK_MGMT_LOG_QUEUE_DIR: launch.logQueueDir },
      files: [{ name: SIM_LAYOUT_FILE, content: `${JSON.stringify(launch.layout, null, 2)}\n` }],
    };
  }
}
