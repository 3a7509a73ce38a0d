import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AgentApi, agentTopic } from '../../src/management/index.js';
import { readStat } from '../../src/management/procfs.js';
import { eventually, pidAlive, runCli } from '../helpers/process.js';
import {
  AGENT, FakeController, agentStateDir, cleanup, configuration, freePort, getNodes, node, nodeProcesses, own, readPid, spawnAgent, waitForStates,
  testKeyFile,
} from './harness.js';

after(cleanup);

describe('agent restart', () => {
  test('kill -9 of the agent leaves the nodes running; the next agent adopts them, then an empty deploy leaves nothing', async () => {
    const c = await FakeController.start();
    const first = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const nodes = [
      node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' } }),
      node('worker-1', 'WORKER', { interface: 'lo' }),
      node('worker-2', 'WORKER', { interface: 'lo' }),
    ];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-adopt', nodes), false]);
    assert.ok(results.every((r) => r.success), JSON.stringify(results));
    const before = await waitForStates(c, peer, ['manager', 'worker-1', 'worker-2'], 'RUNNING');
    const pids = ['manager', 'worker-1', 'worker-2'].map((n) => before.get(n)!.pid!);

    process.kill(first.proc.pid, 'SIGKILL');
    await first.proc.exited();
    for (const pid of pids) assert.ok(pidAlive(pid), `node ${pid} survived the agent`);
    // That they keep running, not just outlive it for a moment: the next agent finds the same processes checked in.

    const second = spawnAgent(c.port, first.stateDir);
    const { peer: peer2 } = await c.hello(AGENT, 2);
    const adopted = await waitForStates(c, peer2, ['manager', 'worker-1', 'worker-2'], 'RUNNING');
    assert.deepEqual(['manager', 'worker-1', 'worker-2'].map((n) => adopted.get(n)!.pid), pids, 'the same processes are reported');
    assert.equal(adopted.get(AGENT)?.pid, second.proc.pid);
    assert.deepEqual(nodeProcesses(first.stateDir).sort(), [...pids].sort(), 'no duplicate was started');

    // The adopted cluster keeps its configuration id: the same deploy touches nothing.
    const [, same] = await c.request(peer2, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-adopt', nodes), false]);
    assert.deepEqual(same.map((r) => [r.success, r.node]), [[true, undefined]]);

    // Dispatch reaches adopted nodes.
    const [, values] = await c.request(peer2, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['get_id_value', 'Cluster::node'], ['worker-2']]);
    assert.deepEqual(values.map((r) => [r.node, r.success]), [['worker-2', true]]);

    // An adopted node that dies is noticed and restarted.
    process.kill(pids[1]!, 'SIGKILL');
    await eventually(() => c.notifications(AgentApi.notifyChange).some(([, n, , next]) => n.name === 'worker-1' && next === 'CRASHED'), 5000);
    await waitForStates(c, peer2, ['worker-1'], 'RUNNING', 10000);

    const [, empty] = await c.request(peer2, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-empty', []), false]);
    assert.deepEqual(empty.map((r) => [r.success, r.node]), [[true, undefined]]);
    assert.deepEqual(nodeProcesses(first.stateDir), [], 'no process of the cluster is left');
    for (const pid of pids) assert.equal(pidAlive(pid), false);
    assert.deepEqual([...(await getNodes(c, peer2)).keys()], [AGENT]);
  });

  test('a pid file naming a reused pid does not fool the agent: the stranger survives and the node is started anew', async () => {
    const c = await FakeController.start();
    const stateDir = agentStateDir();
    own({ stateDir });
    // A stranger process holds the pid the stale pid files name.
    const stranger = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
    own({ pid: stranger.pid! });
    const stat = readStat(stranger.pid!)!;
    const config = configuration('cfg-stale', [
      node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' } }),
      node('proxy', 'PROXY', { port: { number: await freePort(), protocol: 'tcp' } }),
    ]);
    writeFileSync(join(stateDir, 'agent-state.json'), JSON.stringify({ version: 1, configuration: config }));
    for (const [name, startTime] of [['manager', '1'], ['proxy', stat.startTime]] as const) {
      mkdirSync(join(stateDir, 'nodes', name), { recursive: true });
      // manager: wrong start time; proxy: right start time but no launch token in the stranger's env.
      writeFileSync(join(stateDir, 'nodes', name, 'pid.json'), JSON.stringify({ pid: stranger.pid, startTime, token: 'not-the-token', node: name, mgmtPort: 1, launchedAt: '' }));
    }
    spawnAgent(c.port, stateDir);
    const { peer } = await c.hello(AGENT);
    const running = await waitForStates(c, peer, ['manager', 'proxy'], 'RUNNING');
    assert.ok(pidAlive(stranger.pid!), 'the stranger was not signalled');
    assert.notEqual(running.get('manager')!.pid, stranger.pid);
    assert.notEqual(running.get('proxy')!.pid, stranger.pid);
    const pidFile = JSON.parse(readFileSync(join(stateDir, 'nodes', 'proxy', 'pid.json'), 'utf8')) as { pid: number };
    assert.equal(pidFile.pid, running.get('proxy')!.pid);
  });

  test('on start the agent stops what it cannot trust: nodes the stored configuration dropped, and strays without pid file', async () => {
    const c = await FakeController.start();
    const first = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const nodes = [node('worker-1', 'WORKER', { interface: 'lo' }), node('worker-2', 'WORKER', { interface: 'lo' })];
    await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-drop', nodes), false]);
    const before = await waitForStates(c, peer, ['worker-1', 'worker-2'], 'RUNNING');
    process.kill(first.proc.pid, 'SIGKILL');
    await first.proc.exited();

    // While the agent is down: its stored configuration loses worker-2, and a stray node process
    // (launched, but the agent died before writing its pid file) appears.
    const stored = JSON.parse(readFileSync(join(first.stateDir, 'agent-state.json'), 'utf8')) as { configuration: { nodes: { name: string }[] } };
    stored.configuration.nodes = stored.configuration.nodes.filter((n) => n.name !== 'worker-2');
    writeFileSync(join(first.stateDir, 'agent-state.json'), JSON.stringify(stored));
    const stray = spawn('sleep', ['120'], {
      detached: true, stdio: 'ignore',
      env: { ...process.env, ZEEK_MGMT_NODE_DIR: join(first.stateDir, 'nodes', 'worker-3'), ZEEK_MGMT_LAUNCH_TOKEN: 'lost' },
    });
    own({ pid: stray.pid! });

    spawnAgent(c.port, first.stateDir);
    const { peer: peer2 } = await c.hello(AGENT, 2);
    const after = await waitForStates(c, peer2, ['worker-1'], 'RUNNING');
    assert.equal(after.get('worker-1')!.pid, before.get('worker-1')!.pid);
    assert.equal(after.has('worker-2'), false);
    await eventually(() => !pidAlive(before.get('worker-2')!.pid!) && !pidAlive(stray.pid!), 5000);
    assert.deepEqual(nodeProcesses(first.stateDir), [before.get('worker-1')!.pid]);
  });

  test('an agent killed mid-deploy: the next one adopts what was started and starts the rest, no duplicates', async () => {
    const c = await FakeController.start();
    const first = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const nodes = [
      node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' }, env: { ZEEK_MGMT_SIM_START_DELAY: '1.5' } }),
      node('worker-1', 'WORKER', { interface: 'lo' }),
      node('worker-2', 'WORKER', { interface: 'lo' }),
    ];
    // Broker: workers wait for the manager to check in, so the agent dies between the two stages.
    const config = configuration('cfg-mid', nodes, { backend: 'broker' });
    c.endpoint.publishEvent(agentTopic(AGENT), AgentApi.deploy.request.make('mid', config, false), { to: peer.id });
    const managerPid = await eventually(() => { try { return readPid(first.stateDir, 'manager'); } catch { return 0; } }, 5000);
    process.kill(first.proc.pid, 'SIGKILL');
    await first.proc.exited();
    assert.deepEqual(nodeProcesses(first.stateDir), [managerPid], 'only the manager was started (workers wait for it)');

    spawnAgent(c.port, first.stateDir);
    const { peer: peer2 } = await c.hello(AGENT, 2);
    const states = await waitForStates(c, peer2, ['manager', 'worker-1', 'worker-2'], 'RUNNING');
    assert.equal(states.get('manager')!.pid, managerPid);
    assert.equal(nodeProcesses(first.stateDir).length, 3);
    const [, same] = await c.request(peer2, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [config, false]);
    assert.deepEqual(same.map((r) => [r.success, r.node]), [[true, undefined]], 'the interrupted configuration is the one it runs');
  });

  test('a corrupt or invalid state file stops the agent from starting, with the reason', async () => {
    const stateDir = agentStateDir();
    writeFileSync(join(stateDir, 'agent-state.json'), '{"version": 1, "configuration": {"id": 7}');
    const r = await runCli(['agent', '--key-file', testKeyFile(), '--name', AGENT, '--no-connect', '--listen-port', '0', '--state-dir', dirname(stateDir), '--runtime', 'sim']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /zeek-mgmt agent: agent state file .*agent-state\.json is unreadable \(.*JSON.*\); move it away to start without a configuration/);
    assert.equal(readFileSync(join(stateDir, 'agent-state.json'), 'utf8'), '{"version": 1, "configuration": {"id": 7}', 'left as it was');

    const traversal = configuration('cfg-evil', [node('../../etc', 'WORKER', { interface: 'lo' })]);
    writeFileSync(join(stateDir, 'agent-state.json'), JSON.stringify({ version: 1, configuration: traversal }));
    const r2 = await runCli(['agent', '--key-file', testKeyFile(), '--name', AGENT, '--no-connect', '--listen-port', '0', '--state-dir', dirname(stateDir), '--runtime', 'sim']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /stored configuration cfg-evil in .* is invalid \(node name "\.\.\/\.\.\/etc" cannot be used as a directory name/);
  });
});
