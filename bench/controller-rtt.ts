/**
 * get_instances round trip through the controller process on a persistent
 * client connection, against a bare ws echo in a process of its own. Both
 * are driven by the same bare ws client in this process.
 */
import { ControllerApi } from '../src/management/index.js';
import { WS_PATH } from '../src/protocol/index.js';
import { connectController, requestText, waitForInstances } from './controller-session.js';
import { BENCH_CPU, Procs, startControllerProc, startFloorServer } from './procs.js';
import { interleaved, percentile, type Row } from './stats.js';
import { connectWire } from './wire.js';

export async function controllerRoundTrip(quick: boolean): Promise<Row[]> {
  const n = quick ? 200 : 10000;
  const procs = new Procs(BENCH_CPU);
  try {
    const floorPort = await startFloorServer(procs);
    const controller = await startControllerProc(procs);
    const client = await connectController(controller.clientPort);
    procs.script('fake-agents', [String(controller.agentPort), controller.stateDir, '3']);
    await waitForInstances(client, 3);
    const echo = await connectWire(floorPort, '/echo', [WS_PATH]);
    const reqid = 'bench-rtt';
    const text = requestText(ControllerApi.getInstances.request.make(reqid));
    // A long warm-up: a daemon's steady state, after V8 has optimised the request path.
    const [ours, bare] = await interleaved(n, () => client.request(text, reqid).then(() => undefined), () => echo.request(text, reqid).then(() => undefined), quick ? 100 : 3000);
    client.close();
    echo.close();
    return [50, 99].map((p) => ({
      benchmark: `get_instances round trip via controller, p${p} (n=${n}, 3 agents)`,
      product: percentile(ours, p),
      floor: percentile(bare, p),
      unit: 'ms',
      target: '≤ 2×',
    }));
  } finally {
    await procs.close();
  }
}
