/**
 * Wall time of one whole `zeek-mgmt get-instances` process against a live
 * controller, from spawn to exit, against a minimal Node script that
 * connects with ws, sends one message and prints the answer.
 */
import { connectController, waitForInstances } from './controller-session.js';
import { CLI, Procs, benchScript, startControllerProc, startFloorServer, timeProcess } from './procs.js';
import { percentile, type Row } from './stats.js';

export async function cliOneShot(quick: boolean): Promise<Row[]> {
  const runs = quick ? 2 : 20;
  const procs = new Procs();
  try {
    const floorPort = await startFloorServer(procs);
    const controller = await startControllerProc(procs);
    procs.script('fake-agents', [String(controller.agentPort), controller.stateDir, '3']);
    const session = await connectController(controller.clientPort);
    await waitForInstances(session, 3);
    session.close();
    const product = [CLI, '--controller', `127.0.0.1:${controller.clientPort}`, 'get-instances'];
    const floor = [benchScript('floor-oneshot'), String(floorPort)];
    const first = await timeProcess(process.execPath, product);
    if (!first.stdout.includes('fake-agent-0')) throw new Error(`get-instances printed no instances: ${first.stdout}`);
    await timeProcess(process.execPath, floor);
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push((await timeProcess(process.execPath, product)).ms);
      bare.push((await timeProcess(process.execPath, floor)).ms);
    }
    return [{
      benchmark: `one-shot zeek-mgmt get-instances, wall time p50 (runs=${runs})`,
      product: percentile(ours, 50),
      floor: percentile(bare, 50),
      unit: 'ms',
      target: '≤ 1.2×',
    }];
  } finally {
    await procs.close();
  }
}
