/**
 * CPU time (all threads) a simulated node uses from exec until it is live
 * (listening on its management port), against the minimal Node process of
 * the deploy floor (loads ws, connects back, says hello). Started one at a
 * time, so neither competes with anything of ours.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, freePort, Procs, startFloorServer } from './procs.js';
import { percentile, type Row } from './stats.js';

const SIM = fileURLToPath(new URL('../src/node/sim.js', import.meta.url));

export async function nodeStartCpu(quick: boolean): Promise<Row[]> {
  const runs = quick ? 2 : 10;
  const procs = new Procs();
  try {
    const floorPort = await startFloorServer(procs);
    const dir = procs.tempDir('node');
    const layout = join(dir, 'cluster-layout.json');
    writeFileSync(layout, JSON.stringify({ configId: 'bench', nodes: [{ name: 'worker-1', role: 'WORKER', ip: '127.0.0.1', interface: 'lo', manager: 'manager' }] }));
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      const sim = procs.spawn([SIM, '--layout', layout, '-i', 'lo'], { CLUSTER_NODE: 'worker-1', ZEEK_MGMT_NODE_PORT: String(await freePort()) });
      await sim.waitFor(/is live/);
      ours.push(cpuMs(sim.pid));
      sim.child.kill('SIGTERM');
      await sim.exited();
      const peer = procs.script('floor-peer', [String(floorPort), '/peer', '1']);
      await peer.waitFor(/connected/);
      bare.push(cpuMs(peer.pid));
      peer.child.kill('SIGTERM');
      await peer.exited();
    }
    return [{
      benchmark: `CPU time of a simulated node until live, p50 (runs=${runs})`,
      product: percentile(ours, 50),
      floor: percentile(bare, 50),
      unit: 'ms',
      target: '≤ 1.5×',
    }];
  } finally {
    await procs.close();
  }
}
