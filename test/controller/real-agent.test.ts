import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ControllerApi, decodeNodeStatus, type Configuration, type Node, type NodeStatus } from '../../src/management/index.js';
import type { Value } from '../../src/protocol/index.js';
import { eventually, freePort, pidAlive, removeTempDirs, spawnCli, stopAll, tempDir } from '../helpers/process.js';
import { agentKeyFile, startControllerProc, TestClient } from './harness.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

const node = (name: string, role: Node['role']): Node =>
  ({ name, instance: 'agent-real', role, state: 'RUNNING', env: {}, ...(role === 'WORKER' ? { interface: 'lo' } : {}) });

async function nodeStatuses(client: TestClient): Promise<NodeStatus[]> {
  const results = await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response);
  return results.flatMap((r) => (r.data?.type === 'vector' ? r.data.value.map((v: Value) => decodeNodeStatus(v, 'n')) : []));
}

test('with the real agent: deploy to RUNNING, controller SIGKILLed and restarted, nodes kept without duplicates', async () => {
  const dir = tempDir();
  const [portStart, metricsStart] = [await freePort(), await freePort()];
  const ports = ['--request-timeout', '15', '--port-start', String(portStart), '--metrics-port-start', String(metricsStart)];
  const first = await startControllerProc(join(dir, 'ctl'), ports);
  const agent = spawnCli(['agent', '--name', 'agent-real', '--no-listen', '--controller', `127.0.0.1:${first.agentPort}`,
    '--state-dir', join(dir, 'agent'), '--runtime', 'sim', '--stop-grace', '1', '--key-file', agentKeyFile(first.stateDir, 'agent-real')]);
  let client = await TestClient.connect(first.clientPort);
  closers.push(() => client.close());
  await first.proc.waitFor(/instance agent-real newly checked in/);

  const config: Configuration = { id: 'real-1', instances: [{ name: 'agent-real', host: '127.0.0.1' }], nodes: [node('manager', 'MANAGER'), node('worker-1', 'WORKER')] };
  assert.equal((await client.stage(config))[0]?.success, true);
  const results = await client.deploy(20000);
  assert.deepEqual(results.filter((r) => !r.success), []);
  await client.waitFor(ControllerApi.notifyClusterReady, ([id]) => id === 'real-1', 10000);
  const before = (await nodeStatuses(client)).filter((s) => s.mgmtRole === 'NONE');
  assert.deepEqual(before.map((s) => [s.node, s.state]).sort(), [['manager', 'RUNNING'], ['worker-1', 'RUNNING']]);
  assert.equal(before.find((s) => s.node === 'manager')?.port?.number, portStart);

  first.proc.child.kill('SIGKILL');
  await first.proc.exited();
  await client.close();
  const second = await startControllerProc(join(dir, 'ctl'), [...ports.slice(0), '--agent-port', String(first.agentPort)]);
  await second.proc.waitFor(/instance agent-real is back on the deployed configuration/, 15000);
  client = await TestClient.connect(second.clientPort);
  const after = (await nodeStatuses(client)).filter((s) => s.mgmtRole === 'NONE');
  assert.deepEqual(after.map((s) => [s.node, s.pid]).sort(), before.map((s) => [s.node, s.pid]).sort(), 'same processes, none added');

  // An empty configuration stops the nodes, so nothing outlives the test.
  assert.equal((await client.stage({ ...config, id: 'empty', nodes: [] }))[0]?.success, true);
  assert.deepEqual((await client.deploy(20000)).filter((r) => !r.success), []);
  await eventually(() => before.every((s) => s.pid === undefined || !pidAlive(s.pid)), 10000);
  await agent.stop();
});
