/**
 * get_nodes across N agents (client → controller → N agents → client)
 * against the raw fan-out/gather of one message to N ws sockets, each side
 * in processes of its own: N = 10 real agent processes (floor: 10 peer
 * processes), N = 100 and 1000 protocol-speaking agents in one process
 * (floor: N sockets in one process). With the fake agents it also reports
 * the controller's RSS growth per connected agent.
 */
import { ControllerApi } from '../src/management/index.js';
import { WS_PATH } from '../src/protocol/index.js';
import { assertAllSucceeded, connectController, decodeResponse, requestText, waitForInstances } from './controller-session.js';
import { Procs, agentKeyFile, rssKiB, startControllerProc, startFloorServer } from './procs.js';
import { interleaved, percentile, type Row } from './stats.js';
import { connectWire } from './wire.js';

interface Size { agents: number; real: boolean; samples: number; memory?: boolean }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fanOut(size: Size): Promise<Row[]> {
  const { agents: n, real } = size;
  const procs = new Procs();
  try {
    const floorPort = await startFloorServer(procs);
    // Every agent here connects from 127.0.0.1: more than the default limit per address.
    const controller = await startControllerProc(procs, ['--max-connections-per-address', String(n + 16)]);
    const client = await connectController(controller.clientPort);
    await waitForInstances(client, 0);
    await sleep(300);
    const rssBefore = rssKiB(controller.proc.pid);
    if (real) {
      for (let i = 0; i < n; i++) {
        procs.cli(['agent', '--runtime', 'sim', '--controller', `127.0.0.1:${controller.agentPort}`, '--no-listen',
          '--state-dir', procs.tempDir('agent'), '--name', `bench-agent-${i}`, '--key-file', agentKeyFile(procs, controller, `bench-agent-${i}`)]);
      }
    } else procs.script('fake-agents', [String(controller.agentPort), controller.stateDir, String(n)]);
    await waitForInstances(client, n, 120000);
    const peers = real ? Array.from({ length: n }, () => procs.script('floor-peer', [String(floorPort), '/peer', '1']))
      : [procs.script('floor-peer', [String(floorPort), '/peer', String(n)])];
    await Promise.all(peers.map((p) => p.waitFor(/connected/)));
    const fan = await connectWire(floorPort, '/fanout', [WS_PATH]);

    const reqid = 'bench-nodes';
    const text = requestText(ControllerApi.getNodes.request.make(reqid));
    const [, results] = ControllerApi.getNodes.response.decode(decodeResponse(await client.request(text, reqid)));
    assertAllSucceeded(`get_nodes across ${n} agents`, results, n);
    const [ours, bare] = await interleaved(size.samples, () => client.request(text, reqid).then(() => undefined),
      () => fan.request(text, reqid).then(() => undefined), Math.min(20, size.samples));
    await sleep(300);
    const rssAfter = rssKiB(controller.proc.pid);
    client.close();
    fan.close();
    const rows: Row[] = [{
      benchmark: `get_nodes across ${n} ${real ? 'agent processes' : 'agents in one process'}, p50 (n=${size.samples})`,
      product: percentile(ours, 50),
      floor: percentile(bare, 50),
      unit: 'ms',
      target: '≤ 2×',
    }];
    if (size.memory) {
      rows.push({
        benchmark: `controller RSS growth per connected agent (${n} agents)`,
        product: ((rssAfter - rssBefore) * 1.024) / n,
        unit: 'KB',
        target: '≤ 100 KB',
        note: `RSS ${(rssBefore / 1024).toFixed(0)} → ${(rssAfter / 1024).toFixed(0)} MiB`,
      });
    }
    return rows;
  } finally {
    await procs.close();
  }
}

export async function getNodesFanOut(quick: boolean): Promise<Row[]> {
  const sizes: Size[] = quick
    ? [{ agents: 10, real: true, samples: 20 }, { agents: 100, real: false, samples: 20, memory: true }]
    : [{ agents: 10, real: true, samples: 400 }, { agents: 100, real: false, samples: 200 }, { agents: 1000, real: false, samples: 40, memory: true }];
  const rows: Row[] = [];
  for (const size of sizes) rows.push(...(await fanOut(size)));
  return rows;
}
