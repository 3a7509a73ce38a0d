import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi, ControllerApi, encodeConfiguration, encodeInstance, encodeNodeOutputs, encodeNodeStatus } from '../../src/management/index.js';
import { parseClusterConfig } from '../../src/client/cluster-config.js';
import { str, vector } from '../../src/protocol/index.js';
import { freePort, removeTempDirs, runCli, spawnCli, stopAll, tempDir } from '../helpers/process.js';
import { bad, FakeController, ok } from './fake-controller.js';

const fake = new FakeController();
const dir = tempDir();
const MINI = join(dir, 'mini.ini');
writeFileSync(MINI, '[manager]\nrole = manager\n\n[logger]\nrole = logger\n\n[worker-01]\nrole = worker\ninterface = lo\n');

before(async () => { await fake.start(); });
after(async () => { await stopAll(); await fake.close(); removeTempDirs(); });

const cli = (args: string[], input?: string): ReturnType<typeof runCli> =>
  runCli(['--controller', `127.0.0.1:${fake.port}`, '--set', 'client.request_timeout_secs=1', ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' }, ...(input === undefined ? {} : { input }) });

const staged = parseClusterConfig('[instances]\nagent-a\nagent-b = 10.0.0.2:2151\n\n[manager]\ninstance = agent-a\nrole = manager\nport = 2200\nenv = A="x y"\n\n[w1]\ninstance = agent-b\nrole = worker\ninterface = eth0\n', { source: 'x', hostname: 'h', id: 'cfg-1' });
assert.ok(staged.ok);

describe('client commands against a protocol-speaking controller', () => {
  test('get-instances: one entry per instance, host and port only when known', async () => {
    fake.on(ControllerApi.getInstances.request, ControllerApi.getInstances.response, (reqid) =>
      [reqid, ok(reqid, { data: vector(staged.config.instances.map(encodeInstance)) })]);
    const r = await cli(['get-instances']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{\n  "agent-a": {},\n  "agent-b": {\n    "host": "10.0.0.2",\n    "port": 2151\n  }\n}\n');
  });

  test('stage-config sends the parsed configuration and prints its id; deploy-config then deploys', async () => {
    fake.on(ControllerApi.stageConfiguration.request, ControllerApi.stageConfiguration.response, (reqid, args) =>
      [reqid, [ok(reqid, { data: str((args[1] as { id: string }).id) })]]);
    fake.on(ControllerApi.deploy.request, ControllerApi.deploy.response, (reqid) => [reqid, [
      ok(reqid, { data: str('cfg-9') }),
      ok(reqid, { instance: 'agent-a', node: 'manager' }),
      bad(reqid, 'node failed', { instance: 'agent-a', node: 'worker-01', data: encodeNodeOutputs({ stdout: '', stderr: 'fatal error: problem with interface' }) }),
      bad(reqid, 'request timed out'),
    ]]);
    const before = fake.received.length;
    const r = await cli(['stage-config', MINI]);
    assert.equal(r.code, 0, r.stderr);
    const sent = fake.received[before]!;
    assert.equal(sent.name, ControllerApi.stageConfiguration.request.name);
    const [, config] = ControllerApi.stageConfiguration.request.decode(sent);
    assert.deepEqual(config.nodes.map((n) => n.name), ['logger', 'manager', 'worker-01']);
    assert.equal(r.stdout, `{\n  "errors": [],\n  "results": {\n    "id": "${config.id}"\n  }\n}\n`);

    const d = await cli(['deploy-config', '-'], readFileSync(MINI, 'utf8'));
    assert.equal(d.code, 1);
    assert.equal(d.stderr, 'error: node worker-01 on agent-a: node failed (stderr: fatal error: problem with interface)\nerror: request timed out\n',
      'each failure with its reason on stderr, a failed node with its last stderr line');
    assert.deepEqual(JSON.parse(d.stdout), {
      errors: ['request timed out'],
      results: {
        id: 'cfg-9',
        nodes: {
          manager: { instance: 'agent-a', success: true },
          'worker-01': { instance: 'agent-a', success: false, stdout: '', stderr: 'fatal error: problem with interface' },
        },
      },
    });
    assert.deepEqual(fake.names().slice(-2), ['stage_configuration_request', 'deploy_request']);
  });

  test('failed staging prints the errors, exits 1 and does not deploy', async () => {
    fake.on(ControllerApi.stageConfiguration.request, ControllerApi.stageConfiguration.response, (reqid) =>
      [reqid, [bad(reqid, 'node "x" has invalid instance "y"'), bad(reqid, '')]]);
    const r = await cli(['deploy-config', MINI]);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { errors: ['node "x" has invalid instance "y"', 'no reason given'], results: {} });
    assert.notEqual(fake.names().at(-1), 'deploy_request');
  });

  test('get-config: INI by default, --as-json, -f FILE, --deployed asks for the deployed one', async () => {
    fake.on(ControllerApi.getConfiguration.request, ControllerApi.getConfiguration.response, (reqid, args) =>
      [reqid, args[1] ? bad(reqid, 'no configuration deployed') : ok(reqid, { data: encodeConfiguration(staged.config) })]);
    const ini = await cli(['get-config']);
    assert.equal(ini.code, 0, ini.stderr);
    assert.equal(ini.stdout, '[instances]\nagent-a\nagent-b = 10.0.0.2:2151\n\n[manager]\ninstance = agent-a\nrole = MANAGER\nport = 2200\nenv = A="x y"\n\n[w1]\ninstance = agent-b\nrole = WORKER\ninterface = eth0\n\n');
    const again = parseClusterConfig(ini.stdout, { source: 'x', hostname: 'h', id: 'cfg-1' });
    assert.ok(again.ok);
    assert.deepEqual(again.config, staged.config);
    const json = await cli(['--set', 'client.pretty_json=false', 'get-config', '--as-json']);
    assert.match(json.stdout, /^\{"id": "cfg-1", "instances": \[\{"name": "agent-a"\}, \{"host": "10\.0\.0\.2", "name": "agent-b", "port": 2151\}\], "nodes": \[/);
    const out = join(dir, 'out.ini');
    const f = await cli(['get-config', '-f', out]);
    assert.equal(f.stdout, '');
    assert.equal(readFileSync(out, 'utf8'), ini.stdout);
    const dep = await cli(['get-config', '--deployed']);
    assert.equal(dep.code, 1);
    assert.equal(dep.stderr, 'error: no configuration deployed\n');
  });

  test('get-nodes: JSON by instance and node, NONE roles as null, our health and capture fields; --table for people', async () => {
    const exitTime = new Date(Date.now() - 300_000).toISOString();
    const health = {
      uptimeMs: 3_723_400, cpuPercent: 12.5, rssBytes: 150 * 1024 * 1024, restarts: 2, lastExit: { time: exitTime, code: 1, description: 'exited with code 1' },
      packetsReceived: 4_567_000, packetsDropped: 12_300, captureTime: new Date().toISOString(),
    };
    fake.on(ControllerApi.getNodes.request, ControllerApi.getNodes.response, (reqid) => [reqid, [
      ok(reqid, { instance: 'agent-b', data: vector([encodeNodeStatus({ node: 'w1', state: 'RUNNING', mgmtRole: 'NONE', clusterRole: 'WORKER', pid: 42, ...health })]) }),
      ok(reqid, { instance: 'agent-a', data: vector([
        encodeNodeStatus({ node: 'manager', state: 'PENDING', mgmtRole: 'NONE', clusterRole: 'MANAGER', port: { number: 2200, protocol: 'tcp' }, metricsPort: { number: 9000, protocol: 'tcp' } }),
        encodeNodeStatus({ node: 'agent-a', state: 'RUNNING', mgmtRole: 'AGENT', clusterRole: 'NONE', pid: 7 }),
      ]) }),
      bad(reqid, 'request timed out', { instance: 'agent-c' }),
    ]]);
    const r = await cli(['get-nodes']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      errors: [{ source: 'agent-c', error: 'request timed out' }],
      results: {
        'agent-a': {
          'agent-a': { cluster_role: null, mgmt_role: 'AGENT', pid: 7, state: 'RUNNING' },
          manager: { cluster_role: 'MANAGER', mgmt_role: null, port: 2200, metrics_port: 9000, state: 'PENDING' },
        },
        'agent-b': {
          w1: {
            cluster_role: 'WORKER', mgmt_role: null, pid: 42, state: 'RUNNING',
            uptime_secs: 3723, cpu_percent: 12.5, rss_bytes: 157286400, restarts: 2, last_exit: { time: exitTime, code: 1, description: 'exited with code 1' },
            packets_received: 4567000, packets_dropped: 12300,
          },
        },
      },
    });
    const t = await cli(['get-nodes', '--table']);
    const lines = t.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3).concat(lines.slice(4)), [
      'INSTANCE  NODE     ROLE     STATE    PID  PORT  METRICS  UPTIME  CPU    RSS     RESTARTS  PACKETS  DROPPED        LAST EXIT',
      'agent-a   agent-a  agent    RUNNING  7    -     -        -       -      -       -         -        -              -',
      'agent-a   manager  manager  PENDING  -    2200  9000     -       -      -       -         -        -              -',
      'error from agent-c: request timed out',
      '',
    ]);
    assert.match(lines[3]!, /^agent-b +w1 +worker +RUNNING +42 +- +- +1h02m +12\.5% +150\.0M +2 +4\.6M +12\.3k \(0\.27%\) +exited with code 1, 5m0\ds ago$/);
  });

  test('get-id-value: values parsed from each node\'s JSON, failures as errors', async () => {
    fake.on(ControllerApi.getIdValue.request, ControllerApi.getIdValue.response, (reqid, args) => [reqid, [
      ok(reqid, { instance: 'agent-a', node: 'worker-01', data: str('{"a":[1,2],"big":18446744073709551615}') }),
      ok(reqid, { instance: 'agent-a', node: 'logger', data: str(JSON.stringify(args[1])) }),
      bad(reqid, 'unknown cluster node', { node: 'nope' }),
    ]]);
    const r = await cli(['get-id-value', 'LogAscii::use_json', 'logger', 'worker-01', 'nope']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '{\n  "errors": [\n    {\n      "error": "unknown cluster node",\n      "source": "nope"\n    }\n  ],\n  "results": {\n    "logger": "LogAscii::use_json",\n    "worker-01": {\n      "a": [\n        1,\n        2\n      ],\n      "big": 18446744073709551615\n    }\n  }\n}\n');
    const [, id, nodes] = ControllerApi.getIdValue.request.decode(fake.received.at(-1)!);
    assert.equal(id, 'LogAscii::use_json');
    assert.deepEqual([...nodes].sort(), ['logger', 'nope', 'worker-01']);
  });

  test('restart: per-node booleans; a node not restarted exits 1 with its reason on stderr', async () => {
    fake.on(ControllerApi.restart.request, ControllerApi.restart.response, (reqid) => [reqid, [
      ok(reqid, { instance: 'agent-a', node: 'manager' }),
      bad(reqid, 'could not restart', { instance: 'agent-a', node: 'logger' }),
    ]]);
    const r = await cli(['restart', 'manager', 'logger']);
    assert.deepEqual(JSON.parse(r.stdout), { errors: [], results: { logger: false, manager: true } }, "zeek-client's output");
    assert.equal(r.code, 1, 'a node that was not restarted is a failure');
    assert.equal(r.stderr, 'error: node logger on agent-a: could not restart\n');
  });

  test('test-timeout prints success and error', async () => {
    fake.on(ControllerApi.testTimeout.request, ControllerApi.testTimeout.response, (reqid, args) => [reqid, bad(reqid, `request timed out${args[1] ? ' (with state)' : ''}`)]);
    const r = await cli(['test-timeout', '--with-state']);
    assert.equal(r.stdout, '{\n  "error": "request timed out (with state)",\n  "success": false\n}\n');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: request timed out (with state)\n');
  });

  test('no response before the timeout: exit 1 and zeek-client\'s message', async () => {
    const silent = new FakeController();
    await silent.start();
    try {
      const r = await runCli(['--controller', `127.0.0.1:${silent.port}`, '--set', 'client.request_timeout_secs=0.5', 'get-nodes']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `error: no response received: websocket connection to 127.0.0.1:${silent.port} timed out\n`);
    } finally {
      await silent.close();
    }
  });

  test('an unreachable controller: exit 1, says where it tried', async () => {
    const port = await freePort();
    const r = await runCli(['--controller', `127.0.0.1:${port}`, '--set', 'client.peering_attempts=2', '--set', 'client.peering_retry_delay_secs=0.1', 'get-instances']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: cannot reach the controller at ws://127\\.0\\.0\\.1:${port}/v1/messages/json: connection refused after 2 attempts`));
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    const q = await runCli(['-q', '--controller', `127.0.0.1:${port}`, '--set', 'client.peering_attempts=1', 'get-instances']);
    assert.equal(q.code, 1);
    assert.equal(q.stderr, '');
  });

  test('a configuration file that does not parse: exit 1, file and line, nothing sent', async () => {
    const file = join(dir, 'bad.ini');
    writeFileSync(file, '[manager]\nrole = manager\n\n[w]\nrole = sniffer\n');
    const count = fake.received.length;
    const r = await cli(['deploy-config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: ${file}:5: node "w": role "sniffer" is invalid; use one of logger, manager, proxy, worker\nerror: configuration has errors, not sending\n`);
    const missing = await cli(['stage-config', join(dir, 'nope.ini')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /please provide a cluster configuration file: cannot read .*nope\.ini: no such file/);
    assert.equal(fake.received.length, count);
  });

  test('-v shows informational messages on stderr, stdout unchanged', async () => {
    const r = await cli(['-vv', 'restart']);
    assert.match(r.stderr, new RegExp(`info: connecting to controller 127\\.0\\.0\\.1:${fake.port}\ninfo: peered with controller`));
  });

  test('monitor prints forwarded notifications as they arrive, each with its time, control characters escaped', async () => {
    const peered = new Promise<void>((resolve) => fake.endpoint.once('peer-up', () => resolve()));
    const mon = spawnCli(['--controller', `127.0.0.1:${fake.port}`, 'monitor']);
    await peered;
    const node = staged.config.nodes[0]!;
    fake.endpoint.publishEvent('zeek/management/controller', AgentApi.notifyChange.make('agent-a', node, 'PENDING', 'RUNNING'));
    fake.endpoint.publishEvent('zeek/management/controller', AgentApi.notifyLog.make('agent-a', 'listening on 2200 \u001b[2J', 'manager'));
    fake.endpoint.publishEvent('zeek/management/controller', ControllerApi.notifyInstanceState.make('agent-b', false, '10.0.0.2:2151'));
    fake.endpoint.publishEvent('zeek/management/controller', ControllerApi.notifyInstanceState.make('agent-b', true, '10.0.0.2:2151'));
    fake.endpoint.publishEvent('zeek/management/controller', ControllerApi.notifyClusterReady.make('cfg-1'));
    await mon.waitFor(/cluster ready/);
    const lines = mon.stdout().split('\n');
    assert.ok(lines.slice(0, -1).every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l)), mon.stdout());
    assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, '')), [
      'agent-a: node manager (manager port 2200/tcp) PENDING -> RUNNING',
      'agent-a/manager: listening on 2200 \\x1b[2J',
      'instance agent-b disconnected (was 10.0.0.2:2151)',
      'instance agent-b connected (10.0.0.2:2151)',
      'cluster ready: every node of configuration cfg-1 is RUNNING',
      '',
    ]);
    // Ctrl-C: a quiet exit 0, nothing about the connection.
    mon.child.kill('SIGINT');
    assert.equal(await mon.exited(), 0);
    assert.equal(mon.stderr(), '');
    assert.ok(!/closed|no response/.test(mon.stdout()), mon.stdout());
  });

  test('monitor: the loss of the controller is said on stderr, exit 1', async () => {
    const doomed = new FakeController();
    await doomed.start();
    const peered = new Promise<void>((resolve) => doomed.endpoint.once('peer-up', () => resolve()));
    const mon = spawnCli(['--controller', `127.0.0.1:${doomed.port}`, 'monitor']);
    await peered;
    await doomed.close();
    assert.equal(await mon.exited(), 1);
    assert.equal(mon.stdout(), '');
    assert.equal(mon.stderr(), `error: connection to controller 127.0.0.1:${doomed.port} closed; monitor stopped\n`);
  });

  test('file contents are never echoed raw: a binary file, and an escape sequence in a line', async () => {
    const count = fake.received.length;
    const elf = await cli(['stage-config', '/bin/true']);
    assert.equal(elf.code, 1);
    assert.equal(elf.stderr, 'error: /bin/true: not a text file (it holds NUL bytes); a cluster configuration is an INI file\nerror: configuration has errors, not sending\n');
    const file = join(dir, 'escape.ini');
    writeFileSync(file, `\u001b[2J\u001b]0;pwned\u0007${'x'.repeat(500)}\n[manager]\nrole = manager\n`);
    const esc = await cli(['stage-config', file]);
    assert.equal(esc.code, 1);
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(esc.stderr), `no control character on stderr: ${JSON.stringify(esc.stderr)}`);
    assert.match(esc.stderr, new RegExp(`^error: ${file.replace(/[.]/g, '\\.')}:1: "\\\\x1b\\[2J\\\\x1b\\]0;pwned\\\\x07x+…" \\(514 characters\\) appears before any \\[section\\] header\n`));
    assert.ok(esc.stderr.length < 300, 'shortened');
    assert.equal(fake.received.length, count, 'nothing sent');
  });
});
