import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startController } from '../../src/controller/main.js';
import { resolveControllerOptions } from '../../src/controller/config.js';
import { ControllerApi } from '../../src/management/index.js';
import { createLogger } from '../../src/management/log.js';
import { eventually, removeTempDirs, tempDir } from '../helpers/process.js';
import { TestAgent, TestClient } from './harness.js';

after(() => removeTempDirs());

const refused = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(false); });
  s.once('error', () => resolve(true));
});

test('startController in-process: bound ports exposed; close() with requests pending leaves nothing behind', async () => {
  const baseline = new Set(process.getActiveResourcesInfo());
  const stateDir = tempDir();
  const resolved = resolveControllerOptions({ name: 'ctl-inproc', clientPort: '0', agentPort: '0', stateDir, requestTimeout: '30' }, {});
  assert.ok(resolved.ok);
  const options = resolved.value;
  const controller = await startController({ ...options, logger: createLogger({ name: 'ctl-inproc', role: 'controller', stateDir, quiet: true }) });
  assert.ok(controller.clientPort > 0 && controller.agentPort > 0);
  assert.equal(controller.name, 'ctl-inproc');

  const client = await TestClient.connect(controller.clientPort);
  const agent = new TestAgent('agent-a');
  agent.deployBehaviour = { silent: true };
  await agent.connect(controller);
  await client.stage({ id: 'c', instances: [{ name: 'agent-a', host: '127.0.0.1' }], nodes: [] });
  client.send(ControllerApi.testTimeout.request.make('pending-1', true));
  client.send(ControllerApi.deploy.request.make('pending-2'));
  // Barrier: the controller handles a client's events in order, so once this is answered the two above are pending.
  await client.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);

  await controller.close();
  await client.close();
  await agent.close();
  assert.ok(await refused(controller.clientPort), 'client port closed');
  assert.ok(await refused(controller.agentPort), 'agent port closed');
  await sleep(50);
  const left = process.getActiveResourcesInfo().filter((r) => !baseline.has(r) && r !== 'TTYWrap');
  assert.deepEqual(left.filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'TCPServerWrap'), []);
  // The database is closed: a second controller on the same state directory starts and sees the stage.
  const again = await startController({ ...options, logger: createLogger({ name: 'ctl-inproc', role: 'controller', stateDir, quiet: true }) });
  const c2 = await TestClient.connect(again.clientPort);
  const got = await c2.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
  assert.equal(got.success, true);
  await c2.close();
  await again.close();
});

test('a controller that made its own logger closes management.log when it closes', async () => {
  const stateDir = tempDir();
  const openLogFiles = (): number => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === join(stateDir, 'ctl-log', 'management.log');
    } catch {
      return false;
    }
  }).length;
  const resolved = resolveControllerOptions({ name: 'ctl-log', clientPort: '0', agentPort: '0', stateDir, logLevel: 'error' }, {});
  assert.ok(resolved.ok);
  const controller = await startController(resolved.value);
  assert.equal(openLogFiles(), 1, 'the log file is open while the controller runs');
  await controller.close();
  await eventually(() => openLogFiles() === 0, 2000);
});
