import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AgentApi, agentTopic } from '../../src/management/index.js';
import { eventually, pidAlive, runCli, spawnCli, tempDir } from '../helpers/process.js';
import {
  AGENT, FakeController, cleanup, configuration, freePort, node, nodeProcesses, own, readPid, spawnAgent, waitForStates,
  testKeyFile,
  controllerProof,
} from './harness.js';

after(cleanup);

describe('agent sessions and command line', () => {
  test('a controller that dials in gets hello with connecting=false; a restarted controller gets hello again', async () => {
    const c = await FakeController.start();
    const { proc } = spawnAgent(c.port);
    const [, listenPort] = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    const first = await c.hello(AGENT);
    assert.equal(first.args[2], true);
    assert.equal(first.args[1].length > 0, true, 'hello carries the endpoint id');

    const dialer = await FakeController.start();
    const link = dialer.endpoint.connect({ host: '127.0.0.1', port: Number(listenPort), subscriptions: [agentTopic(AGENT)], remoteTopics: [agentTopic(AGENT)], retry: false, ...controllerProof() });
    await link.ready();
    const inbound = await dialer.hello(AGENT);
    assert.equal(inbound.args[2], false, 'connecting=false for a controller that dialled in');
    assert.equal(inbound.args[1], first.args[1], 'same agent endpoint id either way');
    const [, welcome] = await dialer.request(inbound.peer, AGENT, AgentApi.agentWelcome.request, AgentApi.agentWelcome.response, []);
    assert.deepEqual([welcome.success, welcome.instance], [true, AGENT]);

    // The controller goes away and comes back on the same port: the agent reconnects and says hello again.
    const port = c.port;
    await c.close();
    const again = await FakeController.start(port);
    const second = await again.hello(AGENT, 1, 15000);
    assert.equal(second.args[2], true);
  });

  test('notifications go to the controller session that sent the latest request', async () => {
    const c = await FakeController.start();
    const { proc, stateDir } = spawnAgent(c.port, undefined, ['--stop-grace', '0.5']);
    const [, listenPort] = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    await c.hello(AGENT);
    const other = await FakeController.start();
    other.endpoint.connect({ host: '127.0.0.1', port: Number(listenPort), subscriptions: [agentTopic(AGENT)], remoteTopics: [agentTopic(AGENT)], retry: false, ...controllerProof() });
    const { peer } = await other.hello(AGENT);
    const nodes = [
      node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' }, env: { ZEEK_MGMT_SIM_START_DELAY: '1.2', ZEEK_MGMT_SIM_IGNORE_SIGTERM: '1' } }),
      node('worker-1', 'WORKER', { interface: 'lo' }),
    ];
    const [, results] = await other.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-n', nodes, { backend: 'broker' }), false]);
    assert.ok(results.every((r) => r.success), JSON.stringify(results));
    await eventually(() => other.notifications(AgentApi.notifyChange).some(([, n, , s]) => n.name === 'worker-1' && s === 'RUNNING'));
    assert.equal(c.notifications(AgentApi.notifyChange).length, 0, 'the idle controller session got no notifications');

    // With Broker, workers start only once the manager checked in (the manager starts slowly).
    const launched = (name: string): number => Date.parse((JSON.parse(readFileSync(join(stateDir, 'nodes', name, 'pid.json'), 'utf8')) as { launchedAt: string }).launchedAt);
    assert.ok(launched('worker-1') - launched('manager') >= 1100, `worker launched ${launched('worker-1') - launched('manager')} ms after the manager`);

    // A node ignoring SIGTERM is killed after the grace period.
    const managerPid = readPid(stateDir, 'manager');
    const [, standby] = await other.request(peer, AGENT, AgentApi.agentStandby.request, AgentApi.agentStandby.response, []);
    assert.equal(standby.success, true);
    assert.equal(pidAlive(managerPid), false);
    assert.deepEqual(nodeProcesses(stateDir), []);
  });

  test('SIGTERM stops the agent but not its nodes', async () => {
    const c = await FakeController.start();
    const { proc, stateDir } = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-t', [node('worker-1', 'WORKER', { interface: 'lo' })]), false]);
    const states = await waitForStates(c, peer, ['worker-1'], 'RUNNING');
    process.kill(proc.pid, 'SIGTERM');
    assert.equal(await proc.exited(), 0);
    assert.ok(pidAlive(states.get('worker-1')!.pid!));
    assert.match(readFileSync(join(stateDir, 'management.log'), 'utf8'), /agent stopped; nodes keep running/);
  });

  test('bad flags: one clear line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--listen-port', '70000'], /^zeek-mgmt agent: --listen-port must be a port number \(0-65535\), got "70000"\n$/],
      [['--controller', 'nohost'], /^zeek-mgmt agent: --controller must be host:port, got "nohost"\n$/],
      [['--runtime', 'docker'], /^zeek-mgmt agent: --runtime must be sim, zeek or auto, got "docker"\n$/],
      [['--runtime', 'zeek', '--zeek-path', '/nonexistent/zeek'], /^zeek-mgmt agent: --runtime zeek: no executable zeek at "\/nonexistent\/zeek" \(set --zeek-path\)\n$/],
      [['--node-timeout', 'soon'], /^zeek-mgmt agent: --node-timeout must be a number of seconds of at least 0\.1, got "soon"\n$/],
      [['--no-listen', '--no-connect'], /^zeek-mgmt agent: --no-listen and --no-connect together/],
      [['--name', 'a/b'], /^zeek-mgmt agent: agent name "a\/b" may hold only/],
    ];
    for (const [flags, want] of cases) {
      const r = await runCli(['agent', '--state-dir', tempDir(), ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const env = await runCli(['agent', '--state-dir', tempDir()], { env: { ZEEK_AGENT_PORT: 'x' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /ZEEK_AGENT_PORT must be a port number/);
  });

  test('a second agent on the same state directory refuses to start', async () => {
    const c = await FakeController.start();
    const { stateDir } = spawnAgent(c.port);
    await c.hello(AGENT);
    const r = await runCli(['agent', '--key-file', testKeyFile(), '--name', AGENT, '--listen-port', '0', '--no-connect', '--state-dir', dirname(stateDir), '--runtime', 'sim']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another agent \(pid \d+\) already uses state directory/);
  });

  test('log archival runs the archive command with -1 <log queue> <archive dir>', async () => {
    const dir = tempDir();
    own({ stateDir: dir });
    const record = join(dir, 'archiver-calls');
    const script = join(dir, 'fake-archiver');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${record}\n`);
    chmodSync(script, 0o755);
    const spool = join(dir, 'spool');
    mkdirSync(join(spool, 'log-queue'), { recursive: true });
    const proc = spawnCli(['agent', '--key-file', testKeyFile(), '--name', AGENT, '--no-connect', '--listen-port', '0', '--state-dir', join(dir, 'state'), '--spool-dir', spool,
      '--runtime', 'sim', '--archive-cmd', script, '--archive-interval', '1']);
    await eventually(() => { try { return readFileSync(record, 'utf8'); } catch { return ''; } }, 8000);
    assert.equal(readFileSync(record, 'utf8').split('\n')[0], `-1 ${join(spool, 'log-queue')} ${join(spool, 'logs')}`);
    await proc.waitFor(/log archival done/);
  });
});
