/**
 * Deploy until every node is RUNNING: client → controller → agent process
 * → N simulated node processes (a manager and workers, one start stage), timed from
 * deploy_request to a deploy_response whose every Result succeeded. Each
 * deploy carries a new configuration id, so the agent first stops the
 * previous nodes. Floor: a process that stops its previous batch, then
 * spawns N minimal Node processes (ws only) at the agent's spawn
 * concurrency and answers once all connected back.
 */
import { ControllerApi, type Configuration } from '../src/management/index.js';
import { WS_PATH } from '../src/protocol/index.js';
import {
  assertAllSucceeded, connectController, decodeResponse, nextReqid, requestText, waitForInstances,
} from './controller-session.js';
import { AGENT_SPAWN_CONCURRENCY, Procs, agentKeyFile, freePortRange, startControllerProc, startFloorServer } from './procs.js';
import { BenchFailure, nowMs, percentile, type Row } from './stats.js';
import { connectWire, type WireClient } from './wire.js';

const INSTANCE = 'bench-agent';

/** N nodes: the manager a cluster needs and N-1 workers; with ZeroMQ (the default backend) they start in one stage. */
function workers(id: string, n: number): Configuration {
  return {
    id,
    instances: [{ name: INSTANCE, host: '127.0.0.1' }],
    nodes: [
      { name: 'manager', instance: INSTANCE, role: 'MANAGER', state: 'PENDING', env: {} },
      ...Array.from({ length: n - 1 }, (_, i) => ({ name: `worker-${i}`, instance: INSTANCE, role: 'WORKER' as const, state: 'PENDING' as const, interface: 'lo', env: {} })),
    ],
  };
}

async function deployOnce(client: WireClient, n: number): Promise<number> {
  const stageId = nextReqid('stage');
  const [, staged] = ControllerApi.stageConfiguration.response.decode(decodeResponse(
    await client.request(requestText(ControllerApi.stageConfiguration.request.make(stageId, workers(`bench-${stageId}`, n))), stageId)));
  assertAllSucceeded(`stage ${n} workers`, staged);
  const reqid = nextReqid('deploy');
  const text = requestText(ControllerApi.deploy.request.make(reqid));
  const t0 = nowMs();
  const answer = await client.request(text, reqid, 120000);
  const elapsed = nowMs() - t0;
  const [, results] = ControllerApi.deploy.response.decode(decodeResponse(answer));
  assertAllSucceeded(`deploy of ${n} simulated nodes`, results, n);
  return elapsed;
}

async function spawnOnce(floor: WireClient, n: number): Promise<number> {
  const reqid = nextReqid('spawn');
  const t0 = nowMs();
  await floor.request(JSON.stringify({ spawn: n, reqid }), reqid, 120000);
  return nowMs() - t0;
}

async function measureSize(client: WireClient, floor: WireClient, n: number, runs: number, throughput: boolean): Promise<Row[]> {
  const ours: number[] = [];
  const bare: number[] = [];
  // One unmeasured round each warms caches and leaves a batch running to be stopped, as in every measured round.
  await deployOnce(client, n);
  await spawnOnce(floor, n);
  for (let i = 0; i < runs; i++) {
    ours.push(await deployOnce(client, n));
    bare.push(await spawnOnce(floor, n));
  }
  const product = percentile(ours, 50);
  const floorMs = percentile(bare, 50);
  const rows: Row[] = [{ benchmark: `deploy until ${n} simulated node${n === 1 ? ' is' : 's are'} RUNNING, p50 (runs=${runs})`, product, floor: floorMs, unit: 'ms', target: '≤ 1.5×' }];
  if (throughput) {
    rows.push({
      benchmark: `deploy throughput, ${n} nodes at spawn concurrency ${AGENT_SPAWN_CONCURRENCY}`,
      product: (n * 1000) / product,
      floor: (n * 1000) / floorMs,
      unit: 'nodes/s',
      target: '≥ 0.67× (inverse of 1.5×)',
    });
  }
  return rows;
}

export async function deployToRunning(quick: boolean): Promise<Row[]> {
  const sizes: [number, number][] = quick ? [[1, 2]] : process.env.BENCH_DEPLOY_SIZES ? JSON.parse(process.env.BENCH_DEPLOY_SIZES) as [number, number][] : [[1, 7], [10, 5], [100, 3]];
  const procs = new Procs();
  try {
    const floorPort = await startFloorServer(procs);
    // The manager's ports (Broker, ZeroMQ's xpub/xsub) from a free range, not from 2200, which something else may hold.
    const controller = await startControllerProc(procs, ['--no-auto-assign-metrics-ports', '--request-timeout', '120', '--port-start', String(await freePortRange(8))]);
    procs.cli(['agent', '--runtime', 'sim', '--name', INSTANCE, '--controller', `127.0.0.1:${controller.agentPort}`, '--no-listen',
      '--state-dir', procs.tempDir('agent'), '--node-timeout', '60', '--stop-grace', '5', '--key-file', agentKeyFile(procs, controller, INSTANCE)]);
    const client = await connectController(controller.clientPort);
    await waitForInstances(client, 1);
    const floor = await connectWire(floorPort, '/spawn', [WS_PATH]);
    const rows: Row[] = [];
    for (const [n, runs] of sizes) {
      try {
        rows.push(...(await measureSize(client, floor, n, runs, n === sizes[sizes.length - 1]![0] && n >= 10)));
      } catch (err) {
        throw new BenchFailure(rows, (err as Error).message);
      }
    }
    client.close();
    floor.close();
    return rows;
  } finally {
    await procs.close();
  }
}
