/**
 * zeek-mgmt against Zeek's own Management Framework, both managing real
 * Zeek from the same build, in one run, alternating:
 *
 * - a deploy of examples/mini.ini replacing the running mini cluster (a new
 *   configuration id: every node is stopped and started again), timed from
 *   the deploy request until every node is RUNNING (the deploy response,
 *   then get_nodes polled until all four report RUNNING);
 * - a get_nodes round trip through each controller (a persistent client).
 *
 * The original is `zeek -j frameworks/management/agent
 * frameworks/management/controller` (its ports, state dir and the start of
 * its node port ranges moved out of the way); ours is `zeek-mgmt up
 * --runtime zeek`. Both are driven by the same bare WebSocket client. Between
 * deploys each cluster is stopped by deploying a configuration of the same
 * instance without nodes (not timed). Without a zeek (../shared/zeek not installed) the rows say why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ControllerApi, decodeNodeStatus, readList, type Configuration } from '../src/management/index.js';
import { parseClusterConfig } from '../src/client/cluster-config.js';
import { assertAllSucceeded, connectController, decodeResponse, nextReqid, requestText, waitForInstances } from './controller-session.js';
import { Procs, freePort, freePortRange } from './procs.js';
import { interleaved, nowMs, percentile, type Row } from './stats.js';
import type { WireClient } from './wire.js';

const ZEEK = process.env.ZEEK_MGMT_BENCH_ZEEK ?? '/opt/zeek/bin/zeek';
const MINI = fileURLToPath(new URL('../../examples/mini.ini', import.meta.url));
const NODES = ['logger', 'manager', 'worker-01', 'worker-02'];

interface Side {
  name: string;
  client: WireClient;
}

async function call<T>(client: WireClient, make: (reqid: string) => Parameters<typeof requestText>[0], decode: (text: string) => T, timeoutMs = 60_000): Promise<T> {
  const reqid = nextReqid('zeek');
  return decode(await client.request(requestText(make(reqid)), reqid, timeoutMs));
}

async function runningNodes(client: WireClient): Promise<Set<string>> {
  const [, results] = await call(client, (r) => ControllerApi.getNodes.request.make(r), (t) => ControllerApi.getNodes.response.decode(decodeResponse(t)));
  const running = new Set<string>();
  for (const res of results) {
    if (!res.success || !res.data) continue;
    for (const [i, v] of readList(res.data, 'data', 'vector').entries()) {
      const s = decodeNodeStatus(v, `data[${i}]`);
      if (s.clusterRole !== 'NONE' && s.state === 'RUNNING' && s.pid !== undefined) running.add(s.node);
    }
  }
  return running;
}

/**
 * A deploy of mini (a new configuration id, so the running nodes are stopped
 * first) until all four nodes are RUNNING again, in ms.
 */
async function deployMini(side: Side, mini: () => Configuration): Promise<number> {
  const config = mini();
  const [, staged] = await call(side.client, (r) => ControllerApi.stageConfiguration.request.make(r, config), (t) => ControllerApi.stageConfiguration.response.decode(decodeResponse(t)));
  assertAllSucceeded(`${side.name}: stage`, staged);
  const t0 = nowMs();
  const [, results] = await call(side.client, (r) => ControllerApi.deploy.request.make(r), (t) => ControllerApi.deploy.response.decode(decodeResponse(t)), 120_000);
  assertAllSucceeded(`${side.name}: deploy of mini`, results);
  for (let until = Date.now() + 30_000; ;) {
    const running = await runningNodes(side.client);
    if (NODES.every((n) => running.has(n))) return nowMs() - t0;
    if (Date.now() > until) throw new Error(`${side.name}: only ${[...running].join(', ')} RUNNING 30 s after the deploy`);
  }
}

export async function realZeek(quick: boolean): Promise<Row[]> {
  const deploys = quick ? 1 : 7;
  const trips = quick ? 5 : 200;
  const rowsIf = (why: string): Row[] => [
    { benchmark: 'redeploy of mini with real Zeek until all RUNNING: zeek-mgmt vs Zeek\'s own framework, p50', product: NaN, unit: 'ms', target: '≤ 1.0×', skipped: why },
    { benchmark: 'get_nodes round trip with real Zeek: zeek-mgmt vs Zeek\'s own framework, p50', product: NaN, unit: 'ms', target: '≤ 1.0×', skipped: why },
  ];
  if (!existsSync(ZEEK)) {
    process.stderr.write(` skipped: no zeek at ${ZEEK} …`);
    return rowsIf(`no zeek at ${ZEEK} (bash ../shared/zeek/install.sh)`);
  }
  const procs = new Procs();
  try {
    const ports = async (): Promise<number> => freePort();
    const [oursClient, oursAgent, origClient, origAgent, origListen] = [await ports(), await ports(), await ports(), await ports(), await ports()];
    // The ports each framework assigns from (mini: up to five Broker and ZeroMQ ports, four metrics ports), in ranges nothing else takes.
    const [oursStart, oursMetrics, origStart, origMetrics] = [await freePortRange(8), await freePortRange(8), await freePortRange(8), await freePortRange(8)];
    const up = procs.cli(['up', '--runtime', 'zeek', '--zeek-path', ZEEK, '--client-port', String(oursClient), '--agent-port', String(oursAgent),
      '--agent-listen-port', '0', '--port-start', String(oursStart), '--metrics-port-start', String(oursMetrics), '--state-dir', procs.tempDir('ours'),
      '--node-timeout', '30', '--request-timeout', '60']);
    await up.waitFor(/^Ready\./m, 60_000);
    const state = procs.tempDir('original');
    procs.spawnCommand(ZEEK, ['-j', 'frameworks/management/agent', 'frameworks/management/controller',
      `Management::Controller::auto_assign_broker_start_port=${origStart}/tcp`, `Management::Controller::auto_assign_metrics_start_port=${origMetrics}/tcp`,
      'Management::Request::timeout_interval=30sec'], {
      ZEEK_CONTROLLER_WEBSOCKET_PORT: `${origClient}/tcp`, ZEEK_CONTROLLER_PORT: `${origAgent}/tcp`, ZEEK_AGENT_PORT: `${origListen}/tcp`,
      ZEEK_MANAGEMENT_STATE_DIR: state, ZEEK_MANAGEMENT_SPOOL_DIR: state,
    }, state);
    const ours: Side = { name: 'zeek-mgmt', client: await connectController(oursClient) };
    const original: Side = { name: 'Zeek\'s framework', client: await connectController(origClient) };
    await waitForInstances(ours.client, 1);
    await waitForInstances(original.client, 1, 60_000);

    const text = readFileSync(MINI, 'utf8');
    const parse = (src: string): Configuration => {
      const r = parseClusterConfig(src, { source: MINI, hostname: hostname() });
      if (!r.ok) throw new Error(r.error);
      return r.config;
    };
    const mini = (): Configuration => parse(text);

    // The original's agent loses track of a deploy now and then on a loaded machine ("request timed out"):
    // it gets a second try, counted in the row; ours gets none.
    let retries = 0;
    const originalDeploy = async (): Promise<number> => {
      try {
        return await deployMini(original, mini);
      } catch (err) {
        if (!/request timed out/.test((err as Error).message)) throw err;
        retries++;
        return deployMini(original, mini);
      }
    };
    // One unmeasured deploy each leaves a cluster running, which every measured deploy replaces.
    await deployMini(ours, mini);
    await originalDeploy();
    const oursDeploys: number[] = [];
    const origDeploys: number[] = [];
    for (let i = 0; i < deploys; i++) {
      oursDeploys.push(await deployMini(ours, mini));
      origDeploys.push(await originalDeploy());
    }
    const trip = (side: Side) => async (): Promise<void> => { await runningNodes(side.client); };
    const [oursTrips, origTrips] = await interleaved(trips, trip(ours), trip(original), Math.min(20, trips));
    ours.client.close();
    original.client.close();
    return [
      { benchmark: `redeploy of mini with real Zeek until all RUNNING: zeek-mgmt vs Zeek's own framework, p50 (runs=${deploys})`,
        product: percentile(oursDeploys, 50), floor: percentile(origDeploys, 50), unit: 'ms', target: '≤ 1.0×',
        ...(retries > 0 ? { note: `the original needed ${retries} second tries` } : {}) },
      { benchmark: `get_nodes round trip with real Zeek: zeek-mgmt vs Zeek's own framework, p50 (n=${trips})`,
        product: percentile(oursTrips, 50), floor: percentile(origTrips, 50), unit: 'ms', target: '≤ 1.0×' },
    ];
  } finally {
    await procs.close();
  }
}
