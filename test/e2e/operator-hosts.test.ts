/**
 * An operator's first hour with several hosts, with real processes: a
 * controller, agents (the simulated node runtime) and the client. A second
 * agent under a connected name, a second controller on one state directory,
 * a host that drops out, the client pointed at the wrong port.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentKeyFile } from '../controller/harness.js';
import { eventually, freePort, removeTempDirs, runCli, spawnCli, stopAll, tempDir, type Proc } from '../helpers/process.js';

// removeTempDirs() also kills the nodes still working under the tests' state directories.
after(async () => {
  await stopAll();
  removeTempDirs();
});


const CLEAN_ENV = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' };

interface Ctl { proc: Proc; clientPort: number; agentPort: number; base: string }

async function startController(base = tempDir('zeek-mgmt-ops-')): Promise<Ctl> {
  const [portStart, metricsStart] = [await freePort(), await freePort()];
  const proc = spawnCli(['controller', '--name', 'ctl', '--client-port', '0', '--agent-port', '0', '--state-dir', base,
    '--port-start', String(portStart), '--metrics-port-start', String(metricsStart), '--request-timeout', '8']);
  const m = await proc.waitFor(/clients on 127\.0\.0\.1:(\d+), agents on 127\.0\.0\.1:(\d+)/);
  return { proc, clientPort: Number(m[1]), agentPort: Number(m[2]), base };
}

function startAgent(ctl: Ctl, name: string, base: string, extra: string[] = []): Proc {
  return spawnCli(['agent', '--name', name, '--key-file', agentKeyFile(join(ctl.base, 'ctl'), name), '--no-listen', '--controller', `127.0.0.1:${ctl.agentPort}`, '--state-dir', base,
    '--runtime', 'sim', '--node-timeout', '6', '--stop-grace', '1', ...extra]);
}

const client = (port: number, args: string[], timeoutMs?: number): ReturnType<typeof runCli> =>
  runCli(['--controller', `127.0.0.1:${port}`, '--set', 'client.request_timeout_secs=20', ...args], { env: CLEAN_ENV, ...(timeoutMs ? { timeoutMs } : {}) });

type NodesJson = { errors: { source: string | null; error: string | null }[]; results: Record<string, Record<string, { pid?: number; state: string; mgmt_role: string | null }>> };

async function nodes(ctl: Ctl): Promise<NodesJson> {
  return JSON.parse((await client(ctl.clientPort, ['get-nodes'])).stdout) as NodesJson;
}

describe('several hosts, as an operator meets them', () => {
  test('a second agent under a connected name is refused, with a warning on both sides; it takes over only once the first is gone', async () => {
    const ctl = await startController();
    const first = startAgent(ctl, 'agent-sensor', tempDir('zeek-mgmt-ops-a1-'));
    await ctl.proc.waitFor(/instance agent-sensor newly checked in/);
    const second = startAgent(ctl, 'agent-sensor', tempDir('zeek-mgmt-ops-a2-'));
    const refused = /instance agent-sensor is already connected from 127\.0\.0\.1:\d+ \(agent [^)]+\); refusing a second agent of that name/;
    await ctl.proc.waitFor(refused);
    assert.match(ctl.proc.stderr().split('\n').find((l) => refused.test(l)) ?? '', /"level":"warn"/);
    await second.waitFor(/"level":"warn".*the controller refused this agent: controller ctl: instance agent-sensor is already connected/);

    const owner = async (): Promise<number | undefined> => (await nodes(ctl)).results['agent-sensor']?.['agent-sensor']?.pid;
    assert.equal(await owner(), first.pid, 'get-nodes asks the first agent');
    const instances = await client(ctl.clientPort, ['get-instances']);
    assert.deepEqual(Object.keys(JSON.parse(instances.stdout) as object), ['agent-sensor']);

    await first.stop();
    await eventually(async () => (await owner()) === second.pid, 20000, 200);
  });

  test('a second controller on the state directory of a running one refuses to start and touches nothing', async () => {
    const ctl = await startController();
    const r = await runCli(['controller', '--name', 'ctl', '--client-port', '0', '--agent-port', '0', '--state-dir', ctl.base]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `zeek-mgmt controller: another controller (pid ${ctl.proc.pid}) already uses state directory ${join(ctl.base, 'ctl')}\n`);
    const file = join(tempDir(), 'one.ini');
    writeFileSync(file, '[manager]\nrole = manager\n');
    const staged = await client(ctl.clientPort, ['stage-config', file]);
    assert.equal(staged.code, 0, staged.stderr);
  });

  test('a host that drops out: get-nodes names it (exit 1), the table shows its last nodes UNREACHABLE, monitor says it went and came back', async () => {
    const ctl = await startController();
    const baseA = tempDir('zeek-mgmt-ops-a-');
    const baseB = tempDir('zeek-mgmt-ops-b-');
    startAgent(ctl, 'agent-a', baseA);
    let b = startAgent(ctl, 'agent-b', baseB);
    await ctl.proc.waitFor(/instance agent-b newly checked in/);
    await ctl.proc.waitFor(/instance agent-a newly checked in/);
    const file = join(tempDir(), 'two.ini');
    writeFileSync(file, '[instances]\nagent-a\nagent-b\n\n[manager]\ninstance = agent-a\nrole = manager\n\n[worker-b]\ninstance = agent-b\nrole = worker\ninterface = lo\n');
    const deployed = await client(ctl.clientPort, ['deploy-config', file]);
    assert.equal(deployed.code, 0, deployed.stderr);
    await eventually(async () => (await nodes(ctl)).results['agent-b']?.['worker-b']?.state === 'RUNNING', 15000, 200);
    await client(ctl.clientPort, ['get-nodes']); // the controller now knows agent-b's nodes as reported

    const monitor = spawnCli(['--controller', `127.0.0.1:${ctl.clientPort}`, '-vv', 'monitor']);
    await monitor.waitFor(/info: peered with controller/);
    await b.stop();
    await monitor.waitFor(/instance agent-b disconnected \(was 127\.0\.0\.1:\d+\)/);
    await ctl.proc.waitFor(/"level":"warn".*instance agent-b disconnected/);

    const r = await client(ctl.clientPort, ['get-nodes']);
    assert.equal(r.code, 1);
    const json = JSON.parse(r.stdout) as NodesJson;
    assert.deepEqual(json.errors, [{ source: 'agent-b', error: 'instance agent-b is not connected' }]);
    assert.deepEqual(Object.keys(json.results), ['agent-a']);
    assert.match(r.stderr, /^error: agent-b: instance agent-b is not connected$/m);
    const table = await client(ctl.clientPort, ['get-nodes', '--table']);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^agent-b +worker-b +worker +UNREACHABLE +- /m);
    assert.match(table.stdout, /^agent-b +agent-b +agent +UNREACHABLE /m);
    assert.match(table.stdout, /^error from agent-b: instance agent-b is not connected$/m);

    b = startAgent(ctl, 'agent-b', baseB);
    await monitor.waitFor(/Z instance agent-b connected \(127\.0\.0\.1:\d+\)/);
    await eventually(async () => (await client(ctl.clientPort, ['get-nodes'])).code === 0, 15000, 200);
    await monitor.stop();
  });

  test('the client pointed at the agent port or an agent\'s own port says so at once and exits 1', async () => {
    const ctl = await startController();
    const listen = await freePort();
    const agent = spawnCli(['agent', '--name', 'agent-l', '--key-file', agentKeyFile(join(ctl.base, 'ctl'), 'agent-l'), '--listen-port', String(listen), '--no-connect', '--state-dir', tempDir(), '--runtime', 'sim']);
    await agent.waitFor(/agent is live/);
    // A request timeout far beyond the test's: only an immediate answer passes.
    // Both refuse the session before any request: the controller's agent port and an agent's own port admit only proven keys.
    const said = new Map([
      [ctl.agentPort, 'this port is for agents, which must prove their agent key (zeek-mgmt agent --key-file; see README "Security"); clients connect to the controller\'s client port (default 2149)'],
      [listen, 'this is agent agent-l\'s port: it obeys only its controller, which proves the key of agent-l; clients connect to the controller\'s client port (default 2149)'],
    ]);
    for (const [port, why] of said) {
      const r = await runCli(['--controller', `127.0.0.1:${port}`, '--set', 'client.request_timeout_secs=600', 'get-instances'], { env: CLEAN_ENV, timeoutMs: 20000 });
      assert.equal(r.code, 1, `port ${port}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `error: controller 127.0.0.1:${port} refused the handshake: 403 ${why}\n`);
    }
  });
});
