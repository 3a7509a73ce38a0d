/**
 * stage_configuration_request of a large configuration on 100 instances:
 * validation, port assignment and persistence in the controller process,
 * timed from request to response. 10 000 nodes must cost less than 10× the
 * 1000-node figure (no quadratic step), shown as the ratio to it.
 */
import { ControllerApi, type Configuration, type Node } from '../src/management/index.js';
import { assertAllSucceeded, connectController, decodeResponse, requestText } from './controller-session.js';
import { Procs, startControllerProc } from './procs.js';
import { nowMs, percentile, type Row } from './stats.js';

const INSTANCES = 100;

/** A manager, 4 loggers, a proxy per instance, workers for the rest, spread over the instances. */
export function largeConfiguration(id: string, nodes: number): Configuration {
  const instances = Array.from({ length: INSTANCES }, (_, i) => ({ name: `host-${i}`, host: `10.0.${i >> 8}.${(i & 255) + 1}` }));
  const list: Node[] = [{ name: 'manager', instance: 'host-0', role: 'MANAGER', state: 'PENDING', env: {} }];
  for (let i = 0; i < 4; i++) list.push({ name: `logger-${i}`, instance: `host-${i + 1}`, role: 'LOGGER', state: 'PENDING', env: {} });
  for (let i = 0; i < INSTANCES; i++) list.push({ name: `proxy-${i}`, instance: `host-${i}`, role: 'PROXY', state: 'PENDING', env: {} });
  for (let i = 0; list.length < nodes; i++) {
    list.push({ name: `worker-${i}`, instance: `host-${i % INSTANCES}`, role: 'WORKER', state: 'PENDING', interface: `eth${i % 4}`, env: { ZEEK_BENCH: '1' } });
  }
  return { id, instances, nodes: list };
}

export async function stageLarge(quick: boolean): Promise<Row[]> {
  const sizes: [number, number][] = quick ? [[1000, 2]] : [[1000, 10], [10000, 3]];
  const procs = new Procs();
  try {
    const controller = await startControllerProc(procs);
    const client = await connectController(controller.clientPort);
    const p50 = new Map<number, number>();
    for (const [nodes, runs] of sizes) {
      const samples: number[] = [];
      for (let i = 0; i <= runs; i++) {
        const reqid = `bench-stage-${nodes}-${i}`;
        const text = requestText(ControllerApi.stageConfiguration.request.make(reqid, largeConfiguration(`config-${nodes}-${i}`, nodes)));
        const t0 = nowMs();
        const answer = await client.request(text, reqid, 60000);
        const ms = nowMs() - t0;
        const [, results] = ControllerApi.stageConfiguration.response.decode(decodeResponse(answer));
        assertAllSucceeded(`stage of ${nodes} nodes`, results);
        if (i > 0) samples.push(ms); // the first one warms up
      }
      p50.set(nodes, percentile(samples, 50));
    }
    client.close();
    const base = p50.get(1000)!;
    const rows: Row[] = [{ benchmark: `stage 1000 nodes on ${INSTANCES} instances, p50`, product: base, unit: 'ms', target: '< 100 ms' }];
    const big = p50.get(10000);
    if (big !== undefined) {
      rows.push({ benchmark: `stage 10000 nodes on ${INSTANCES} instances, p50 (floor column: 1000 nodes)`, product: big, floor: base, unit: 'ms', target: '< 10×' });
    }
    return rows;
  } finally {
    await procs.close();
  }
}
