/**
 * An operator's first hour with `zeek-mgmt up`, with real processes: the
 * terminal closed and a pipe closed early, a node that fails and one in a
 * crash loop, bad configurations, readable output on a terminal (a
 * pseudo-tty through `script`), a restart with a persisted configuration.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findByEnv } from '../../src/management/procfs.js';
import { NODE_DIR_ENV } from '../../src/agent/process-identity.js';
import { CLI, eventually, freePort, pidAlive, removeTempDirs, runCli, spawnCli, spawnProc, stopAll, tempDir } from '../helpers/process.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
// removeTempDirs() also kills the nodes still working under the tests' state directories.
after(async () => {
  await stopAll();
  removeTempDirs();
});

const nodesUnder = (base: string): { pid: number }[] => findByEnv(NODE_DIR_ENV, (v) => v.startsWith(`${base}/`));
const CLEAN_ENV = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' };

interface Up { args: string[]; clientPort: number; base: string }

/** The arguments of an `up` on free ports and a fresh state directory. */
async function upArgs(extra: string[] = [], base = tempDir('zeek-mgmt-up-')): Promise<Up> {
  const [clientPort, agentPort, portStart, metricsStart] = [await freePort(), await freePort(), await freePort(), await freePort()];
  return {
    args: ['up', '--runtime', 'sim', '--client-port', String(clientPort), '--agent-port', String(agentPort), '--agent-listen-port', '0',
      '--state-dir', base, '--port-start', String(portStart), '--metrics-port-start', String(metricsStart), '--node-timeout', '6', '--stop-grace', '1', ...extra],
    clientPort,
    base,
  };
}

const client = (up: Up, args: string[]): ReturnType<typeof runCli> =>
  runCli(['--controller', `127.0.0.1:${up.clientPort}`, '--set', 'client.request_timeout_secs=20', ...args], { env: CLEAN_ENV });

type NodeRow = { pid?: number; state: string; cluster_role: string | null };
async function clusterNodes(up: Up): Promise<Record<string, NodeRow>> {
  const json = JSON.parse((await client(up, ['get-nodes'])).stdout) as { results: Record<string, Record<string, NodeRow>> };
  const all = Object.assign({}, ...Object.values(json.results)) as Record<string, NodeRow>;
  return Object.fromEntries(Object.entries(all).filter(([, s]) => s.cluster_role !== null));
}

describe('zeek-mgmt up, as an operator meets it', () => {
  test('with --require-auth the dashboard address carries a token of this run, which signs a client in; the page itself needs none', async () => {
    const up = await upArgs(['--require-auth']);
    const proc = spawnCli(up.args);
    const [, token] = await proc.waitFor(/zeek-mgmt up: dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=([\w-]+)\n/, 30000);
    await proc.waitFor(/Ready\./, 30000);
    const anonymous = await client(up, ['get-instances']);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /403 authentication required \(--require-auth\)/);
    const signed = await client(up, ['--set', `auth.token=${token!}`, 'get-instances']);
    assert.equal(signed.code, 0, signed.stderr);
    assert.equal((await fetch(`http://127.0.0.1:${up.clientPort}/`)).status, 200);
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited(), 0);
  });

  test('a pipe closed early (| head) does not kill up; SIGHUP (terminal closed) stops every node as Ctrl-C does', async () => {
    const up = await upArgs(['--config', MINI, '--log-level', 'info']);
    const proc = spawnCli(up.args);
    await proc.waitFor(/zeek-mgmt up: controller/);
    // The reader goes away: up's next writes to stdout and stderr meet a closed pipe (EPIPE).
    proc.child.stdout!.destroy();
    proc.child.stderr!.destroy();
    const running = await eventually(async () => {
      const n = await clusterNodes(up);
      return Object.keys(n).length === 4 && Object.values(n).every((s) => s.state === 'RUNNING') ? n : undefined;
    }, 30000, 250);
    const pids = Object.values(running).map((n) => n.pid!);
    assert.equal(pids.length, 4);
    assert.ok(pidAlive(proc.pid), 'up survived writing into a closed pipe');
    proc.child.kill('SIGHUP');
    assert.equal(await proc.exited(), 0);
    assert.deepEqual(pids.filter(pidAlive), [], 'no node is left running under pid 1');
    assert.deepEqual(nodesUnder(up.base), []);
  });

  test('a failed node: deploy and restart exit 1 with the reason and its stderr on stderr; a crash loop keeps the first failure\'s output and is ready once', async () => {
    const up = await upArgs(['--max-restart-backoff', '0.2', '--start-limit', '0']);
    const proc = spawnCli(up.args);
    await proc.waitFor(/Ready\. In another terminal/, 30000);
    const file = join(tempDir(), 'faulty.ini');
    writeFileSync(file, '[manager]\nrole = manager\n\n[worker-01]\nrole = worker\ninterface = lo\nenv = ZEEK_MGMT_SIM_CRASH_AFTER=0.3\n\n[worker-02]\nrole = worker\ninterface = eth9\n');
    const monitor = spawnCli(['--controller', `127.0.0.1:${up.clientPort}`, '-vv', 'monitor']);
    await monitor.waitFor(/info: peered with controller/);

    const d = await client(up, ['deploy-config', file]);
    assert.equal(d.code, 1, d.stdout);
    assert.match(d.stderr, /^error: node worker-02 on agent-\S+: .*\(stderr: fatal error: problem with interface eth9.*\)$/m);
    const restart = await client(up, ['restart', 'worker-02']);
    assert.deepEqual(JSON.parse(restart.stdout), { errors: [], results: { 'worker-02': false } });
    assert.equal(restart.code, 1);
    assert.match(restart.stderr, /^error: node worker-02 on agent-\S+: .+$/m);

    // worker-01 crashes 0.3 s after each start; after five starts its first run is long rotated out of stdout.1-3.
    const agentDir = readdirSync(up.base).find((d) => d.startsWith('agent-'))!;
    const nodeDir = join(up.base, agentDir, 'nodes', 'worker-01');
    const launches = (): number[] => readFileSync(join(up.base, agentDir, 'management.log'), 'utf8').split('\n')
      .filter((l) => l.includes('"node":"worker-01"') && l.includes('"msg":"node launched"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
    await eventually(() => launches().length >= 6, 30000, 200);
    assert.ok(existsSync(join(nodeDir, 'stdout.first')), 'the first failed run is kept');
    assert.match(readFileSync(join(nodeDir, 'stdout.first'), 'utf8'), new RegExp(`is live, pid ${launches()[0]}\\n`));
    assert.match(readFileSync(join(nodeDir, 'stderr.first'), 'utf8'), /simulated crash/);
    const third = ((): string => { try { return readFileSync(join(nodeDir, 'stdout.3'), 'utf8'); } catch { return ''; } })();
    assert.doesNotMatch(third, new RegExp(`pid ${launches()[0]}\\n`), 'the rotated runs are later ones');
    await monitor.stop();
    assert.ok((monitor.stdout().match(/cluster ready/g) ?? []).length <= 1, 'a crash loop does not repeat "cluster ready"');
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited(), 0);
  });

  test('bad configurations: a missing --config stops up before anything starts; misspelled keys are warned about by default; cpu_affinity beyond the host is refused by its agent', async () => {
    const missing = await upArgs(['--config', join(tempDir(), 'missing.ini')]);
    const r = await runCli(missing.args, { timeoutMs: 20000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^zeek-mgmt up: --config .*missing\.ini: cannot read it: ENOENT/);
    assert.deepEqual(readdirSync(missing.base), [], 'no state written: nothing started');

    const up = await upArgs();
    const proc = spawnCli(up.args);
    await proc.waitFor(/Ready\. In another terminal/, 30000);
    const file = join(tempDir(), 'typos.ini');
    writeFileSync(file, '[manager]\nrole = manager\nscirpts = local\n\n[worker-01]\nrole = worker\ninterfce = lo\nmetric_port = 9999\n');
    const typos = await client(up, ['stage-config', file]);
    assert.equal(typos.code, 1, 'still a worker without an interface');
    assert.match(typos.stderr, new RegExp(`^warning: ${file}:3: unknown key "scirpts" in \\[manager\\], ignored; did you mean "scripts"\\?$`, 'm'));
    assert.match(typos.stderr, new RegExp(`^warning: ${file}:7: unknown key "interfce" in \\[worker-01\\], ignored; did you mean "interface"\\?$`, 'm'));
    assert.match(typos.stderr, new RegExp(`^warning: ${file}:8: unknown key "metric_port" in \\[worker-01\\], ignored; did you mean "metrics_port"\\?$`, 'm'));

    const good = await client(up, ['deploy-config', MINI]);
    assert.equal(good.code, 0, good.stderr);
    const before = await eventually(async () => {
      const n = await clusterNodes(up);
      return Object.values(n).every((s) => s.state === 'RUNNING') && Object.keys(n).length === 4 ? n : undefined;
    }, 20000, 250);
    const pinned = join(tempDir(), 'pinned.ini');
    writeFileSync(pinned, '[manager]\nrole = manager\ncpu_affinity = 4096\n');
    const d = await client(up, ['deploy-config', pinned]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /error: invalid configuration: node "manager" is pinned to CPU 4096, but instance agent-\S+ has CPUs [\d,-]+/);
    const after = await clusterNodes(up);
    assert.deepEqual(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v.pid])), Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.pid])),
      'the running cluster was left as it was');
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited(), 0);
  });

  test('on a terminal: readable log lines, not JSON (management.log keeps JSON and the audit trail); a restart says it redeploys the persisted configuration', async () => {
    const up = await upArgs(['--config', MINI, '--log-level', 'info']);
    const command = [process.execPath, CLI, ...up.args].map((a) => `'${a}'`).join(' ');
    const tty = spawnProc('script', ['-qec', command, '/dev/null']);
    await tty.waitFor(/Ready\. In another terminal/, 30000);
    const upPid = await eventually(async () => {
      const json = JSON.parse((await client(up, ['get-nodes'])).stdout) as { results: Record<string, Record<string, { pid?: number; mgmt_role: string | null }>> };
      return Object.values(json.results).flatMap((n) => Object.values(n)).find((n) => n.mgmt_role === 'AGENT')?.pid;
    });
    // Closing the terminal: the pseudo-tty hangs up, up gets SIGHUP and stops.
    await tty.stop();
    await eventually(() => !pidAlive(upPid), 20000, 100);
    const out = tty.stdout();
    assert.match(out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}controller-\S+: controller is live: clients on 127\.0\.0\.1:\d+/m);
    assert.doesNotMatch(out, /\{"level":/, 'no JSON lines on a terminal');
    const ctlDir = readdirSync(up.base).find((d) => d.startsWith('controller-'))!;
    const log = readFileSync(join(up.base, ctlDir, 'management.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    assert.ok(log.some((l) => /^deployment .* finished: success$/.test(l.msg)), 'the file is JSON, with the deploy in it');
    const msgs = log.map((l) => l.msg);
    assert.ok(msgs.includes('rx get_nodes_request') && msgs.includes('tx Management::Controller::API::get_nodes_response'), 'a read: the request and its answer');
    assert.ok(!msgs.some((m) => /^tx Management::Agent::API::get_nodes_request to |^rx get_nodes_response$/.test(m)), 'not each agent\'s part of a read (debug)');
    assert.ok(msgs.some((m) => /^tx Management::Agent::API::deploy_request to agent-/.test(m)), 'a write: each agent\'s part too');

    // Again, without --config and at the default level (warn): the controller brings the persisted configuration back.
    const again = spawnCli(up.args.filter((a, i) => a !== '--config' && up.args[i - 1] !== '--config' && a !== MINI && a !== '--log-level' && up.args[i - 1] !== '--log-level'));
    await again.waitFor(/Ready\./, 30000);
    assert.match(again.stderr(), /The controller is redeploying the configuration it had deployed before, [0-9a-f-]+, to its agents as they connect\./);
    assert.doesNotMatch(again.stderr(), /deploy a cluster|deploy-config/);
    const lines = (): string[] => readFileSync(join(up.base, ctlDir, 'management.log'), 'utf8').trim().split('\n');
    await eventually(() => lines().some((l) => l.includes('is back on the deployed configuration')), 20000, 200);
    assert.ok(lines().filter((l) => l.includes('rx get_instances_request')).length > 0, '--log-level warn does not silence requests in management.log');
    again.child.kill('SIGINT');
    assert.equal(await again.exited(), 0);
  });

  test('deploy progress on a terminal counts the new configuration\'s nodes only, tells failed from pending, and says when a deploy changes nothing', async () => {
    const up = await upArgs();
    const proc = spawnCli(up.args);
    await proc.waitFor(/Ready\. In another terminal/, 30000);
    const onTerminal = async (args: string[]): Promise<string> => {
      const command = [process.execPath, CLI, '--controller', `127.0.0.1:${up.clientPort}`, ...args].map((a) => `'${a}'`).join(' ');
      const tty = spawnProc('script', ['-qec', command, '/dev/null'], { env: CLEAN_ENV });
      await tty.exited();
      return tty.stdout().replace(/\r/g, '');
    };
    const mini = await client(up, ['deploy-config', MINI]);
    assert.equal(mini.code, 0, mini.stderr);
    const full = await onTerminal(['deploy-config', fileURLToPath(new URL('../../../examples/full.ini', import.meta.url))]);
    assert.match(full, /^deploying 8 nodes: logger, manager, proxy1, proxy2, worker1, worker2, worker3, worker4$/m);
    assert.match(full, /\[8\/8 running\]$/m, full);
    assert.doesNotMatch(full, /\/10 running|\/9 running/, 'the previous configuration\'s nodes are not counted');
    assert.doesNotMatch(full, /running; pending: .*worker-01/, full);

    const again = await onTerminal(['deploy']);
    assert.match(again, /^configuration [0-9a-f-]+ is deployed already: agents that run it keep their nodes as they are$/m);
    assert.doesNotMatch(again, /deploying \d+ nodes/);

    const file = join(tempDir(), 'eth9.ini');
    writeFileSync(file, '[manager]\nrole = manager\n\n[worker-01]\nrole = worker\ninterface = lo\n\n[worker-02]\nrole = worker\ninterface = eth9\n');
    const failed = await onTerminal(['deploy-config', file]);
    const afterFailure = failed.split('\n').filter((l) => l.includes('failed: worker-02 (FAILED)'));
    assert.ok(afterFailure.length > 0, failed);
    assert.ok(afterFailure.every((l) => !/pending: [^\]]*worker-02/.test(l)), `a failed node is not pending: ${afterFailure.join('\n')}`);
    assert.doesNotMatch(failed, /failed: manager/, 'the previous manager stopping is not a failure of this deployment');
    assert.match(failed, /^error: node worker-02 on agent-\S+: .*\(stderr: fatal error: problem with interface eth9/m);
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited(), 0);
  });

  test('no arguments: a one-line usage error', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'zeek-mgmt: no command given; run "zeek-mgmt --help" for the commands (up, controller, agent, and the zeek-client commands)\n');
  });
});
