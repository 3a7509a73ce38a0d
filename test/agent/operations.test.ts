/**
 * The agent's operations beyond the original (issue 16): stop and start
 * (stopped nodes stay stopped across an agent restart and a bring-back),
 * the health fields of get_nodes, the start limit, crash directories that
 * a redeploy leaves alone, and diag. Real agent processes, simulated nodes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi } from '../../src/management/index.js';
import type { Value } from '../../src/protocol/index.js';
import { eventually, pidAlive } from '../helpers/process.js';
import {
  AGENT, FakeController, cleanup, configuration, getNodes, node, nodeProcesses, spawnAgent, waitForStates,
} from './harness.js';

after(cleanup);

const lo = { interface: 'lo' };

describe('agent operations', () => {
  test('stop and start: a stopped node stays stopped across an agent restart, start brings it back', async () => {
    const c = await FakeController.start();
    const first = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const config = configuration('cfg-ops', [node('worker-1', 'WORKER', lo), node('worker-2', 'WORKER', lo)]);
    const [, deployed] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [config, false]);
    assert.ok(deployed.every((r) => r.success), JSON.stringify(deployed));
    const running = await waitForStates(c, peer, ['worker-1', 'worker-2'], 'RUNNING');
    const [w1, w2] = [running.get('worker-1')!.pid!, running.get('worker-2')!.pid!];

    const [, stopped] = await c.request(peer, AGENT, AgentApi.stop.request, AgentApi.stop.response, [['worker-1', 'no-such-node']]);
    assert.deepEqual(stopped.map((r) => [r.node, r.success, r.error]).sort(), [['no-such-node', false, 'unknown cluster node no-such-node'], ['worker-1', true, undefined]]);
    const afterStop = await getNodes(c, peer);
    assert.equal(afterStop.get('worker-1')?.state, 'STOPPED');
    assert.equal(afterStop.get('worker-1')?.pid, undefined);
    assert.equal(pidAlive(w1), false);
    assert.match(afterStop.get('worker-1')?.lastExit?.description ?? '', /^stopped/);
    const state = JSON.parse(readFileSync(join(first.stateDir, 'agent-state.json'), 'utf8')) as { stopped: string[] };
    assert.deepEqual(state.stopped, ['worker-1']);

    // Restarting everything leaves the stopped node alone.
    const [, restarted] = await c.request(peer, AGENT, AgentApi.restart.request, AgentApi.restart.response, [[]]);
    assert.deepEqual(restarted.map((r) => [r.node, r.success]), [['worker-2', true]]);

    // A new agent process on the same state: worker-2 is adopted, worker-1 is not started.
    await first.proc.stop();
    const second = spawnAgent(c.port, first.stateDir);
    const { peer: peer2 } = await c.hello(AGENT, 2);
    const adopted = await waitForStates(c, peer2, ['worker-2'], 'RUNNING');
    assert.equal(adopted.get('worker-1')?.state, 'STOPPED');
    assert.equal(nodeProcesses(second.stateDir).length, 1, 'only worker-2 runs');
    assert.notEqual(adopted.get('worker-2')?.pid, w2, 'restarted above');

    const [, started] = await c.request(peer2, AGENT, AgentApi.start.request, AgentApi.start.response, [[]]);
    assert.deepEqual(started.map((r) => [r.node, r.success]).sort(), [['worker-1', true], ['worker-2', true]]);
    const all = await getNodes(c, peer2);
    assert.equal(all.get('worker-1')?.state, 'RUNNING');
    assert.equal(all.get('worker-2')?.pid, adopted.get('worker-2')?.pid, 'a running node is left as it is');
    assert.deepEqual((JSON.parse(readFileSync(join(first.stateDir, 'agent-state.json'), 'utf8')) as { stopped: string[] }).stopped, []);
  });

  test('a new configuration leaves the nodes the controller says were stopped stopped; the same one touches nothing', async () => {
    const c = await FakeController.start();
    spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const config = configuration('cfg-bring-back', [node('worker-1', 'WORKER', lo), node('worker-2', 'WORKER', lo)]);
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [config, false, ['worker-2', 'elsewhere']]);
    assert.deepEqual(results.map((r) => [r.node, r.success]).sort(), [['worker-1', true], ['worker-2', true]]);
    const nodes = await waitForStates(c, peer, ['worker-1'], 'RUNNING');
    assert.equal(nodes.get('worker-2')?.state, 'STOPPED');
    assert.equal(nodes.get('worker-2')?.pid, undefined);
  });

  test('get_nodes tells uptime, CPU, RSS, restarts and the last exit; a node failing N times in a row stays FAILED; crash directories survive a redeploy', async () => {
    const c = await FakeController.start();
    const { stateDir } = spawnAgent(c.port, undefined, ['--start-limit', '3', '--restart-backoff', '0.05', '--keep-crashes', '2']);
    const { peer } = await c.hello(AGENT);
    const crashing = node('worker-bad', 'WORKER', { ...lo, env: { ZEEK_MGMT_SIM_CRASH_AFTER: '0.2' } });
    const config = configuration('cfg-health', [node('worker-ok', 'WORKER', lo), crashing]);
    await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [config, false]);

    const gaveUp = await eventually(() => c.notifications(AgentApi.notifyError).find(([, msg, n]) => n === 'worker-bad' && /start limit/.test(msg)), 20000);
    assert.match(gaveUp[1], /^node worker-bad failed 3 times in a row \(start limit 3\); not restarting it/);
    // A start request is the barrier: no state change of worker-bad came between giving up and it.
    const before = c.notifications(AgentApi.notifyChange).filter(([, n]) => n.name === 'worker-bad').length;
    const nodes = await getNodes(c, peer);
    const bad = nodes.get('worker-bad')!;
    assert.equal(bad.state, 'FAILED');
    assert.equal(bad.pid, undefined);
    assert.equal(bad.restarts, 2, 'three runs: the first and two restarts');
    assert.equal(bad.lastExit?.code, 1);
    assert.match(bad.lastExit?.description ?? '', /exited with code 1/);
    assert.ok(Date.now() - Date.parse(bad.lastExit!.time) < 30_000, bad.lastExit!.time);
    assert.equal(c.notifications(AgentApi.notifyChange).filter(([, n]) => n.name === 'worker-bad').length, before);

    const ok = nodes.get('worker-ok')!;
    assert.equal(ok.state, 'RUNNING');
    assert.equal(ok.restarts, 0);
    assert.ok(ok.uptimeMs! > 0 && ok.uptimeMs! < 60_000, `uptime ${ok.uptimeMs}`);
    assert.ok(ok.rssBytes! > 5_000_000, `rss ${ok.rssBytes}`);
    assert.ok(ok.cpuPercent! >= 0 && ok.cpuPercent! < 400, `cpu ${ok.cpuPercent}`);

    const crashes = join(stateDir, 'crashes', 'worker-bad');
    const kept = readdirSync(crashes).sort();
    assert.equal(kept.length, 2, `--keep-crashes 2: ${kept.join(' ')}`);
    const newest = join(crashes, kept[1]!);
    assert.match(readFileSync(join(newest, 'stderr'), 'utf8'), /fatal error/);
    const exit = JSON.parse(readFileSync(join(newest, 'exit.json'), 'utf8')) as { node: string; code: number; configId: string };
    assert.deepEqual([exit.node, exit.code, exit.configId], ['worker-bad', 1, 'cfg-health']);
    assert.match(readFileSync(join(newest, 'files.txt'), 'utf8'), /stdout/);

    // start tries again (a fresh count), and the diag of the node carries the crash evidence.
    const [, started] = await c.request(peer, AGENT, AgentApi.start.request, AgentApi.start.response, [['worker-bad']]);
    assert.equal(started[0]?.node, 'worker-bad');
    assert.ok(c.notifications(AgentApi.notifyChange).filter(([, n]) => n.name === 'worker-bad').length > before, 'start launched it');
    const [, diag] = await c.request(peer, AGENT, AgentApi.diag.request, AgentApi.diag.response, ['worker-bad']);
    assert.equal(diag.success, true, diag.error);
    assert.equal(diag.data?.type, 'table');
    const text = (v: Value): string => (v.type === 'string' ? v.value : '');
    const files = new Map(diag.data!.type === 'table' ? diag.data!.value.map(([k, v]) => [text(k), text(v)]) : []);
    const names = [...files.keys()];
    assert.ok(names.includes('node.json') && names.includes('versions.txt') && names.includes('ulimits.txt') && names.includes('management-log.txt'), names.join(' '));
    assert.ok(names.some((n) => new RegExp(`^crashes/${kept[1]}/stderr$`).test(n)), names.join(' '));
    assert.match(files.get('versions.txt')!, /^zeek-mgmt \d+\.\d+\.\d+\nruntime sim/);
    assert.match(files.get('ulimits.txt')!, /Max open files/);
    assert.match(files.get('management-log.txt')!, /"node":"worker-bad"/);
    assert.equal((JSON.parse(files.get('node.json')!) as { node: { name: string } }).node.name, 'worker-bad');
    const [, unknown] = await c.request(peer, AGENT, AgentApi.diag.request, AgentApi.diag.response, ['nobody']);
    assert.deepEqual([unknown.success, unknown.error], [false, `cluster node nobody does not run on instance ${AGENT}`]);

    // A redeploy of another configuration leaves the crash directories alone.
    const [, redeployed] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-next', [node('worker-ok', 'WORKER', lo)]), false]);
    assert.ok(redeployed.every((r) => r.success));
    assert.deepEqual(readdirSync(crashes).sort(), kept);
    assert.ok(existsSync(join(newest, 'stderr')));
  });
});
