/**
 * Wall time of one whole `zeek-mgmt get-instances` process against a live
 * controller, from spawn to exit, against a minimal Node script that
 * connects with ws, sends one message and prints the answer.
 */
import { spawn } from 'node:child_process';
import { connectController, waitForInstances } from './controller-session.js';
import { CLI, Procs, benchScript, startControllerProc, startFloorServer } from './procs.js';
import { nowMs, percentile, type Row } from './stats.js';

async function timeProcess(args: string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = nowMs();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const ms = nowMs() - t0;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`);
  return { ms, stdout };
}

export async function cliOneShot(quick: boolean): Promise<Row[]> {
  const runs = quick ? 2 : 20;
  const procs = new Procs();
  try {
    const floorPort = await startFloorServer(procs);
    const controller = await startControllerProc(procs);
    procs.script('fake-agents', [String(controller.agentPort), '3']);
    const session = await connectController(controller.clientPort);
    await waitForInstances(session, 3);
    session.close();
    const product = [CLI, '--controller', `127.0.0.1:${controller.clientPort}`, 'get-instances'];
    const floor = [benchScript('floor-oneshot'), String(floorPort)];
    const first = await timeProcess(product);
    if (!first.stdout.includes('fake-agent-0')) throw new Error(`get-instances printed no instances: ${first.stdout}`);
    await timeProcess(floor);
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push((await timeProcess(product)).ms);
      bare.push((await timeProcess(floor)).ms);
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
