/**
 * The `sim` runtime: the bundled simulated node (dist/src/node/sim.js) run
 * by this same Node.js binary, with the cluster layout as JSON.
 */
import { fileURLToPath } from 'node:url';
import type { LaunchPlan, NodeLaunch, NodeRuntime } from './types.js';

export const SIM_SCRIPT = fileURLToPath(new URL('../../node/sim.js', import.meta.url));
export const SIM_LAYOUT_FILE = 'cluster-layout.json';

export function simRuntime(nodeBinary = process.execPath): NodeRuntime {
  return {
    kind: 'sim',
    describe: `${nodeBinary} ${SIM_SCRIPT}`,
    plan: (launch) => plan(launch, false),
    checkPlan: (launch) => plan(launch, true),
    managementPath: () => 'listener',
  };

  function plan(launch: NodeLaunch, parseOnly: boolean): LaunchPlan {
    const args = [SIM_SCRIPT, '--layout', SIM_LAYOUT_FILE];
    if (parseOnly) args.push('--parse-only');
    if (launch.node.interface !== undefined) args.push('-i', launch.node.interface);
    args.push(...(launch.node.scripts ?? []));
    return {
      command: nodeBinary,
      args,
      env: { ZEEK_MGMT_NODE_PORT: String(launch.mgmtPort), ZEEK_MGMT_NODE_ADDR: launch.mgmtHost },
      files: [{ name: SIM_LAYOUT_FILE, content: `${JSON.stringify(launch.layout, null, 2)}\n` }],
    };
  }
}
