/**
 * The agent's files against a hostile or careless neighbour: state dirs are
 * 0700 and files 0600 (configurations carry env secrets); links planted in
 * the node directories are never written through; `--node-user` runs nodes
 * as that user, and without it an agent running as root says so.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi } from '../../src/management/index.js';
import { eventually, tempDir } from '../helpers/process.js';
import { spawnSync } from 'node:child_process';
import { AGENT, FakeController, agentStateDir, cleanup, configuration, getNodes, node, readPid, spawnAgent, waitForStates } from './harness.js';

after(cleanup);

const mode = (path: string): number => statSync(path).mode & 0o777;

/** The uid a process runs as, from /proc. */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}

describe('agent files', () => {
  test('state dirs are 0700 and what the agent writes is 0600; root without --node-user is warned about once', async () => {
    const c = await FakeController.start();
    const stateDir = join(tempDir(), AGENT);
    const agent = spawnAgent(c.port, stateDir);
    const { peer } = await c.hello(AGENT);
    const nodes = [node('manager', 'MANAGER', { env: { API_TOKEN: 's3cret' } })];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('private', nodes), false]);
    assert.deepEqual(results.map((r) => r.success), [true]);
    for (const dir of [stateDir, join(stateDir, 'nodes'), join(stateDir, 'nodes', 'manager'), join(stateDir, 'spool'), join(stateDir, 'spool', 'log-queue')]) {
      assert.equal(mode(dir), 0o700, `${dir} is 0700`);
    }
    const files = ['agent-state.json', 'management.log', 'agent.lock', 'nodes/manager/pid.json', 'nodes/manager/cluster-layout.json', 'nodes/manager/stdout', 'nodes/manager/stderr'];
    for (const f of files) assert.equal(mode(join(stateDir, f)), 0o600, `${f} is 0600`);
    assert.match(readFileSync(join(stateDir, 'agent-state.json'), 'utf8'), /s3cret/, 'the secret is there, readable by the agent only');
    const warnings = (agent.proc.stderr().match(/nodes will run as root, like this agent: pass --node-user USER/g) ?? []).length;
    assert.equal(warnings, process.getuid?.() === 0 ? 1 : 0);
  });

  test('links planted at nodes/<name>, pid.json.tmp, cluster-layout.json and stdout are not followed; what they point at is untouched', async () => {
    const c = await FakeController.start();
    const stateDir = agentStateDir();
    const outside = tempDir('zeek-mgmt-outside-');
    const nodesDir = join(stateDir, 'nodes');
    mkdirSync(nodesDir, { recursive: true });
    const victimDir = join(outside, 'victim-dir');
    mkdirSync(victimDir);
    symlinkSync(victimDir, join(nodesDir, 'manager'));
    const victim = (name: string): string => {
      const path = join(outside, name);
      writeFileSync(path, `do not touch ${name}\n`);
      return path;
    };
    for (const [nodeName, file] of [['worker-1', 'pid.json.tmp'], ['worker-2', 'cluster-layout.json'], ['worker-3', 'cluster-layout.json.tmp'], ['worker-4', 'stdout']] as const) {
      mkdirSync(join(nodesDir, nodeName));
      symlinkSync(victim(`${nodeName}-${file}`), join(nodesDir, nodeName, file));
    }
    spawnAgent(c.port, stateDir);
    const { peer } = await c.hello(AGENT);
    const nodes = [node('manager', 'MANAGER'), ...[1, 2, 3, 4].map((i) => node(`worker-${i}`, 'WORKER', { interface: 'lo' }))];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('links', nodes), false]);
    const byNode = new Map(results.map((r) => [r.node, r]));
    assert.equal(byNode.get('manager')?.success, false);
    assert.match(byNode.get('manager')!.error!, /could not start node manager: .*nodes\/manager is a symbolic link; refusing to follow it/);
    await waitForStates(c, peer, ['worker-1', 'worker-2', 'worker-3', 'worker-4'], 'RUNNING');
    assert.deepEqual(readdirSync(victimDir), [], 'nothing was written into the linked directory');
    for (const [nodeName, file] of [['worker-1', 'pid.json.tmp'], ['worker-2', 'cluster-layout.json'], ['worker-3', 'cluster-layout.json.tmp'], ['worker-4', 'stdout']]) {
      assert.equal(readFileSync(join(outside, `${nodeName}-${file}`), 'utf8'), `do not touch ${nodeName}-${file}\n`, `${nodeName}/${file}'s target is untouched`);
    }
    assert.ok(lstatSync(join(nodesDir, 'worker-2', 'cluster-layout.json')).isFile(), 'the link was replaced by the agent\'s own file');
    assert.ok(readPid(stateDir, 'worker-1') > 0);
  });

  test('what a node may plant in its own directory for its crash (a link at last-exit.json, a pipe at loaded-scripts) is not followed and does not block the agent', async () => {
    const c = await FakeController.start();
    const stateDir = agentStateDir();
    const outside = tempDir('zeek-mgmt-outside-');
    const nodeDir = join(stateDir, 'nodes', 'worker-1');
    mkdirSync(nodeDir, { recursive: true });
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'do not touch\n');
    symlinkSync(victim, join(nodeDir, 'last-exit.json'));
    assert.equal(spawnSync('mkfifo', [join(nodeDir, 'loaded-scripts')]).status, 0);
    spawnAgent(c.port, stateDir, ['--restart-backoff', '0.2']);
    const { peer } = await c.hello(AGENT);
    const nodes = [node('manager', 'MANAGER'), node('worker-1', 'WORKER', { interface: 'lo', env: { ZEEK_MGMT_SIM_CRASH_AFTER: '0.3' } })];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('planted', nodes), false]);
    assert.deepEqual(results.map((r) => r.success), [true, true]);
    await eventually(() => c.notifications(AgentApi.notifyChange).some(([, n, , next]) => n.name === 'worker-1' && next === 'CRASHED'), 10_000);
    // The agent still answers, has the crash, and wrote its own record, not through the link.
    await eventually(async () => (await getNodes(c, peer)).get('worker-1')?.lastExit?.description.includes('exited with code 1'), 10_000);
    assert.equal(readFileSync(victim, 'utf8'), 'do not touch\n');
    assert.ok(lstatSync(join(nodeDir, 'last-exit.json')).isFile(), 'the link was replaced by the agent\'s own file');
    const crash = readdirSync(join(stateDir, 'crashes', 'worker-1'))[0]!;
    assert.ok(!readdirSync(join(stateDir, 'crashes', 'worker-1', crash)).includes('loaded-scripts'), 'the pipe was not copied');
  });

  test('--node-user runs nodes as that user in directories of theirs', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root: the agent switches users only as root');
    const c = await FakeController.start();
    const parent = tempDir();
    chmodSync(parent, 0o711);
    const stateDir = join(parent, AGENT);
    spawnAgent(c.port, stateDir, ['--node-user', 'nobody']);
    const { peer } = await c.hello(AGENT);
    const nodes = [node('manager', 'MANAGER'), node('worker-1', 'WORKER', { interface: 'lo' })];
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('as-nobody', nodes), false]);
    assert.deepEqual(results.map((r) => [r.node, r.success, r.error ?? null]), [['manager', true, null], ['worker-1', true, null]]);
    const nobody = 65534;
    for (const name of ['manager', 'worker-1']) {
      assert.equal(uidOf(readPid(stateDir, name)), nobody, `${name} runs as nobody`);
      assert.equal(statSync(join(stateDir, 'nodes', name)).uid, nobody, `${name}'s directory is nobody's`);
      assert.equal(statSync(join(stateDir, 'nodes', name, 'cluster-layout.json')).uid, nobody);
      assert.equal(statSync(join(stateDir, 'nodes', name, 'pid.json')).uid, 0, 'the pid file stays the agent\'s');
    }
    assert.equal(mode(stateDir), 0o711, 'the state dir lets nodes through, without listing it');
    assert.equal(mode(join(stateDir, 'agent-state.json')), 0o600);
    assert.equal(statSync(join(stateDir, 'spool', 'log-queue')).uid, nobody, 'nodes rotate their logs into a queue of theirs');
  });

  test('--node-user with an unknown user is refused at start with one line', async () => {
    const c = await FakeController.start();
    const agent = spawnAgent(c.port, tempDir('zeek-mgmt-agent-'), ['--node-user', 'no-such-user-zm']);
    assert.equal(await agent.proc.exited(), 2);
    assert.match(agent.proc.stderr(), /zeek-mgmt agent: --node-user: no such user "no-such-user-zm"/);
  });
});
