/**
 * A full disk under the agent's state directory (a small tmpfs): a deploy
 * fails with the reason and leaves the running nodes and the stored
 * configuration as they were; the agent keeps serving and deploys once
 * space returns.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi } from '../../src/management/index.js';
import { loadAgentState } from '../../src/agent/state-store.js';
import { pidAlive } from '../helpers/process.js';
import { fill, mountTmpfs, unmountAll } from '../helpers/tmpfs.js';
import { AGENT, FakeController, cleanup, configuration, getNodes, node, spawnAgent, waitForStates } from './harness.js';

after(async () => {
  await cleanup();
  unmountAll();
});

test('a deploy on a full disk fails with the reason and leaves the running node; the agent recovers when space returns', async (t) => {
  const mount = mountTmpfs(4 * 1024 * 1024);
  if (!mount.ok) return t.skip(mount.why);
  const stateDir = join(mount.dir, AGENT);
  const c = await FakeController.start();
  const agent = spawnAgent(c.port, stateDir);
  const { peer } = await c.hello(AGENT);
  const deploy = (id: string, workers: number) => c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response,
    [configuration(id, [node('manager', 'MANAGER'), ...Array.from({ length: workers }, (_, i) => node(`w-${i}`, 'WORKER', { interface: 'lo', env: { PAD: 'p'.repeat(2000) } }))]), false]);
  const [, first] = await deploy('before-full', 0);
  assert.deepEqual(first.map((r) => r.success), [true]);
  const pid = (await waitForStates(c, peer, ['manager'], 'RUNNING')).get('manager')!.pid;

  fill(join(mount.dir, 'filler'));
  const [, failed] = await deploy('while-full', 200);
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.error!, /^deploy failed: ENOSPC: no space left on device/);
  const now = await getNodes(c, peer);
  assert.equal(now.get('manager')?.pid, pid, 'the running node was left alone');
  assert.ok(pidAlive(agent.proc.pid));
  assert.equal(loadAgentState(stateDir).configuration?.id, 'before-full', 'the stored configuration is whole and unchanged');

  rmSync(join(mount.dir, 'filler'));
  const [, after] = await deploy('after-full', 2);
  assert.deepEqual(after.map((r) => [r.node, r.success]), [['manager', true], ['w-0', true], ['w-1', true]]);
  assert.equal(loadAgentState(stateDir).configuration?.id, 'after-full');
});
