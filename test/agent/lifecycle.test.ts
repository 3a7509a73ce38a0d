import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi, API_VERSION } from '../../src/management/index.js';
import { eventually, pidAlive } from '../helpers/process.js';
import {
  AGENT, FakeController, cleanup, configuration, freePort, getNodes, node, nodeProcesses, outputsOf, spawnAgent, waitForStates,
} from './harness.js';

after(cleanup);

describe('agent with simulated nodes', () => {
  test('deploys, supervises, restarts and stops a cluster', async () => {
    const c = await FakeController.start();
    const { proc, stateDir } = spawnAgent(c.port);
    const { peer, args: hello } = await c.hello(AGENT);
    assert.equal(hello[2], true, 'hello says the agent connected');
    assert.equal(hello[3], API_VERSION);

    const [mgrPort, logPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const nodes = [
      node('manager', 'MANAGER', { port: { number: mgrPort, protocol: 'tcp' } }),
      node('logger', 'LOGGER', { port: { number: logPort, protocol: 'tcp' } }),
      node('proxy', 'PROXY', { port: { number: proxyPort, protocol: 'tcp' } }),
      node('worker-1', 'WORKER', { interface: 'lo' }),
    ];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-1', nodes), false]);
    assert.deepEqual(results.map((r) => [r.node, r.success, r.instance]).sort(), [
      ['logger', true, AGENT], ['manager', true, AGENT], ['proxy', true, AGENT], ['worker-1', true, AGENT],
    ]);
    const running = await waitForStates(c, peer, ['manager', 'logger', 'proxy', 'worker-1'], 'RUNNING');
    for (const s of running.values()) if (s.mgmtRole === 'NONE') assert.ok(s.pid && pidAlive(s.pid), `${s.node} has a live pid`);
    assert.equal(running.get(AGENT)?.mgmtRole, 'AGENT');
    assert.equal(running.get(AGENT)?.pid, proc.pid);
    assert.equal(running.get('manager')?.port?.number, mgrPort);
    assert.equal(running.get('worker-1')?.clusterRole, 'WORKER');

    // Every state change reached us as notify_change.
    const changes = c.notifications(AgentApi.notifyChange).map(([, n, old, next]) => `${n.name}:${old}->${next}`);
    assert.ok(changes.includes('worker-1:PENDING->RUNNING'), changes.join(' '));

    // kill -9 one node: CRASHED, then back RUNNING with a new pid, old output kept.
    const oldPid = running.get('proxy')!.pid!;
    process.kill(oldPid, 'SIGKILL');
    await eventually(() => c.notifications(AgentApi.notifyChange).some(([, n, , next]) => n.name === 'proxy' && next === 'CRASHED'), 5000);
    assert.ok(c.notifications(AgentApi.notifyError).some(([, msg, n]) => n === 'proxy' && /crashed: killed by SIGKILL/.test(msg)));
    const back = await waitForStates(c, peer, ['proxy'], 'RUNNING', 10000);
    assert.notEqual(back.get('proxy')!.pid, oldPid);
    assert.ok(existsSync(join(stateDir, 'nodes', 'proxy', 'stdout.1')), 'the crashed run\'s stdout was kept');
    assert.match(readFileSync(join(stateDir, 'nodes', 'proxy', 'stdout.1'), 'utf8'), new RegExp(`pid ${oldPid}`));

    // Restart one node: a new process, through PENDING back to RUNNING.
    const before = back.get('manager')!.pid!;
    const [, restarted] = await c.request(peer, AGENT, AgentApi.restart.request, AgentApi.restart.response, [['manager']]);
    assert.deepEqual(restarted.map((r) => [r.node, r.success]), [['manager', true]]);
    const afterRestart = await getNodes(c, peer);
    assert.equal(afterRestart.get('manager')?.state, 'RUNNING');
    assert.notEqual(afterRestart.get('manager')?.pid, before);
    assert.equal(pidAlive(before), false);

    // get_id_value through node_dispatch.
    const [, values] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['get_id_value', 'Cluster::node'], []]);
    assert.deepEqual(values.map((r) => [r.node, r.success, r.data?.type === 'string' ? JSON.parse(r.data.value) : null]).sort(), [
      ['logger', true, 'logger'], ['manager', true, 'manager'], ['proxy', true, 'proxy'], ['worker-1', true, 'worker-1'],
    ]);

    // Same configuration id again: nothing restarted.
    const pids = [...(await getNodes(c, peer)).values()].map((s) => [s.node, s.pid]);
    const [, again] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-1', nodes), false]);
    assert.deepEqual(again.map((r) => [r.success, r.node, r.instance]), [[true, undefined, AGENT]]);
    assert.deepEqual([...(await getNodes(c, peer)).values()].map((s) => [s.node, s.pid]), pids);

    // Standby: no node process left.
    const [, standby] = await c.request(peer, AGENT, AgentApi.agentStandby.request, AgentApi.agentStandby.response, []);
    assert.equal(standby.success, true);
    assert.deepEqual(nodeProcesses(stateDir), []);
    const afterStandby = await getNodes(c, peer);
    assert.deepEqual([...afterStandby.keys()], [AGENT]);
  });

  test('a node with a bad interface fails with its stderr; a hanging node times out', async () => {
    const c = await FakeController.start();
    spawnAgent(c.port, undefined, ['--node-timeout', '2']);
    const { peer } = await c.hello(AGENT);
    const nodes = [
      node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' } }),
      node('worker-bad', 'WORKER', { interface: 'eth9' }),
      node('worker-hang', 'WORKER', { interface: 'lo', env: { ZEEK_MGMT_SIM_HANG: '1' } }),
    ];
    const started = Date.now();
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-bad', nodes), false]);
    const byNode = new Map(results.map((r) => [r.node, r]));
    assert.equal(byNode.get('manager')?.success, true);
    const bad = byNode.get('worker-bad')!;
    assert.equal(bad.success, false);
    assert.match(outputsOf(bad)!.stderr, /fatal error: problem with interface eth9 \(pcap_error: No such device exists \(pcap_activate\)\)/);
    assert.match(bad.error ?? '', /exited with code 1 before checking in/);
    const hang = byNode.get('worker-hang')!;
    assert.equal(hang.success, false);
    assert.match(hang.error ?? '', /did not check in within 2000 ms/);
    assert.match(outputsOf(hang)!.stdout, /hanging at start/);
    assert.ok(results.some((r) => r.node === undefined && r.error === 'request timed out'));
    assert.ok(Date.now() - started < 8000);

    // The failing node is retried with back-off (FAILED -> PENDING ...), the hanging one stays PENDING.
    await eventually(() => c.notifications(AgentApi.notifyChange).filter(([, n, , next]) => n.name === 'worker-bad' && next === 'FAILED').length >= 2, 8000);
    const states = await getNodes(c, peer);
    assert.equal(states.get('worker-hang')?.state, 'PENDING');
    // Node output reaches the controller line by line as notify_log.
    const logs = c.notifications(AgentApi.notifyLog);
    assert.ok(logs.some(([inst, msg, n]) => inst === AGENT && n === 'worker-bad' && msg === 'stderr: fatal error: problem with interface eth9 (pcap_error: No such device exists (pcap_activate))'), JSON.stringify(logs));
    await eventually(() => c.notifications(AgentApi.notifyLog).some(([, msg, n]) => n === 'manager' && /^stdout: node manager \(manager\) is live/.test(msg)), 3000);
    assert.equal(states.get('manager')?.state, 'RUNNING');
  });
});
