import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi } from '../../src/management/index.js';
import { createLogger } from '../../src/management/log.js';
import { Backoff } from '../../src/agent/backoff.js';
import { startAgent } from '../../src/agent/main.js';
import { eventually, pidAlive, tempDir } from '../helpers/process.js';
import { AGENT, FakeController, TEST_AGENT_KEY, cleanup, configuration, node, nodeProcesses, own, waitForStates } from './harness.js';

const security = { key: TEST_AGENT_KEY, insecure: false, allowLoaderEnv: false };

after(cleanup);

const activeHandles = (): string[] => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort();

describe('embedded agent (startAgent)', () => {
  test('reports a co-located controller, and close() leaves nothing behind or leaves the nodes for adoption', async () => {
    const c = await FakeController.start();
    await new Promise((r) => setTimeout(r, 100));
    const baseline = activeHandles();
    const stateDir = tempDir('zeek-mgmt-agent-');
    own({ stateDir });
    const logger = createLogger({ name: AGENT, role: 'agent', quiet: true, level: 'warn' });
    const options = {
      name: AGENT, listenPort: 0, controllerPort: c.port, stateDir, runtime: 'sim' as const, nodeTimeoutMs: 4000, stopGraceMs: 1000, logger, security,
      colocatedController: { name: 'controller-test', pid: process.pid, port: 2149 },
    };
    const agent = await startAgent(options);
    own({ agent });
    assert.ok(agent.listenPort && agent.listenPort > 0);
    const { peer } = await c.hello(AGENT);
    await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-e', [node('worker-1', 'WORKER', { interface: 'lo' })]), false]);
    const states = await waitForStates(c, peer, ['worker-1'], 'RUNNING');
    assert.deepEqual(states.get('controller-test'), { node: 'controller-test', state: 'RUNNING', mgmtRole: 'CONTROLLER', clusterRole: 'NONE', pid: process.pid, port: { number: 2149, protocol: 'tcp' } });
    const { uptimeMs, rssBytes, ...self } = states.get(AGENT)!;
    assert.deepEqual(self, { node: AGENT, state: 'RUNNING', mgmtRole: 'AGENT', clusterRole: 'NONE', pid: process.pid, port: { number: agent.listenPort, protocol: 'tcp' } });
    assert.ok(uptimeMs! > 0 && rssBytes! > 1_000_000, `the agent reports its own uptime and RSS: ${uptimeMs} ms, ${rssBytes} bytes`);
    const workerPid = states.get('worker-1')!.pid!;

    await agent.close({ stopNodes: false });
    assert.ok(pidAlive(workerPid), 'stopNodes: false leaves the node running');
    await eventually(() => activeHandles().join() === baseline.join() || undefined, 3000).catch(() => {
      assert.deepEqual(activeHandles(), baseline, 'no timers or sockets left after close');
    });

    const again = await startAgent(options);
    own({ agent: again });
    const { peer: peer2 } = await c.hello(AGENT, 2);
    const adopted = await waitForStates(c, peer2, ['worker-1'], 'RUNNING');
    assert.equal(adopted.get('worker-1')!.pid, workerPid);
    await again.close({ stopNodes: true });
    assert.equal(pidAlive(workerPid), false);
    assert.deepEqual(nodeProcesses(stateDir), []);
    await eventually(() => activeHandles().join() === baseline.join() || undefined, 3000).catch(() => {
      assert.deepEqual(activeHandles(), baseline, 'no timers or sockets left after close');
    });
    await eventually(() => c.endpoint.peerList().length === 0, 3000);
  });

  test('restart back-off: 1 s, doubling every 3 tries, capped, reset after a long run', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 5000, triesPerStep: 3, resetAfterMs: 30_000 });
    assert.deepEqual(Array.from({ length: 10 }, () => b.next(10)), [1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000, 5000]);
    assert.equal(b.next(30_000), 1000);
  });

  test('a node crashing in a loop is restarted again and again', async () => {
    const c = await FakeController.start();
    const stateDir = tempDir('zeek-mgmt-agent-');
    own({ stateDir });
    const agent = await startAgent({
      name: AGENT, listen: false, controllerPort: c.port, stateDir, runtime: 'sim', nodeTimeoutMs: 3000, stopGraceMs: 500,
      initialRestartBackoffMs: 200, maxRestartBackoffMs: 400, startLimit: 0, security, logger: createLogger({ name: AGENT, role: 'agent', quiet: true, level: 'warn' }),
    });
    own({ agent });
    const { peer } = await c.hello(AGENT);
    await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response,
      [configuration('cfg-loop', [node('worker-1', 'WORKER', { interface: 'lo', env: { ZEEK_MGMT_SIM_CRASH_AFTER: '0.5' } })]), false]);
    // CRASHED (not FAILED) means each run checked in before it died.
    await eventually(() => c.notifications(AgentApi.notifyChange).filter(([, n, , s]) => n.name === 'worker-1' && s === 'CRASHED').length >= 3, 10000);
    await agent.close({ stopNodes: true });
    assert.deepEqual(nodeProcesses(stateDir), []);
  });
});
