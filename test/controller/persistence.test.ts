import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AgentApi, ControllerApi, decodeConfiguration, encodeConfiguration, type Configuration, type Node } from '../../src/management/index.js';
import { writeValue } from '../../src/protocol/index.js';
import { eventually, removeTempDirs, runCli, spawnCli, stopAll, tempDir } from '../helpers/process.js';
import { startControllerProc, TestAgent, TestClient } from './harness.js';

const node = (name: string, role: Node['role']): Node => ({ name, instance: 'agent-a', role, state: 'RUNNING', env: {} });
const config: Configuration = { id: 'persist-1', instances: [{ name: 'agent-a', host: '127.0.0.1' }], nodes: [node('manager', 'MANAGER'), node('logger', 'LOGGER')] };

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

async function connectClient(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port);
  closers.push(() => c.close());
  return c;
}

async function connectAgent(at: { agentPort: number; stateDir: string }): Promise<TestAgent> {
  const a = new TestAgent('agent-a');
  closers.push(() => a.close());
  await a.connect(at);
  return a;
}

describe('controller persistence', () => {
  test('killed with SIGKILL and restarted: state intact, history kept, the deployed configuration re-sent to the agent', async () => {
    const dir = tempDir();
    const first = await startControllerProc(dir);
    const client = await connectClient(first.clientPort);
    const agent = await connectAgent(first);
    await client.stage(config);
    assert.deepEqual((await client.deploy()).filter((r) => !r.success), []);
    await client.stage({ ...config, id: 'persist-2' });
    // Info lines are written within milliseconds, in batches; a SIGKILL may take the last few with it.
    await eventually(() => readFileSync(join(dir, 'ctl', 'management.log'), 'utf8').includes('configuration persist-2 staged and ready'), 2000);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited();
    await client.close();
    await agent.close();

    const second = await startControllerProc(dir);
    await second.proc.waitFor(/re-deploying persisted configuration persist-1 as agents appear/);
    const client2 = await connectClient(second.clientPort);
    const staged = await client2.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.equal(decodeConfiguration(staged.data!, 'c').id, 'persist-2');
    const deployed = await client2.request((r) => ControllerApi.getConfiguration.request.make(r, true), ControllerApi.getConfiguration.response);
    const dep = decodeConfiguration(deployed.data!, 'c');
    assert.equal(dep.id, 'persist-1');
    assert.equal(dep.nodes.find((n) => n.name === 'manager')?.port?.number, 2200);

    const back = await connectAgent(second);
    await eventually(() => back.count(AgentApi.deploy.request) === 1, 5000);
    assert.equal(back.deployed[0]?.id, 'persist-1');
    await second.proc.waitFor(/instance agent-a is back on the deployed configuration/);
    await second.proc.stop();

    const db = new Database(join(dir, 'ctl', 'controller.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT config_id, outcome, ended FROM deployments ORDER BY started').all() as { config_id: string; outcome: string; ended: string }[];
      // The client's deployment, then bringing the agent back after the restart.
      assert.deepEqual(rows.map((r) => [r.config_id, r.outcome]), [['persist-1', 'success'], ['persist-1', 'success']]);
      assert.ok(rows.every((r) => r.ended));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
    const log = readFileSync(join(dir, 'ctl', 'management.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(log.every((l) => l.time && l.level && l.name === 'ctl' && l.role === 'controller'));
    assert.ok(log.some((l) => l.msg === 'tx Management::Controller::API::deploy_response'));
  });

  test('a database that cannot be read stops the controller with a clear message and is left as it was', async () => {
    const dir = tempDir();
    const garbage = 'this is not a database, but somebody cares about it\n'.repeat(100);
    mkdirSync(join(dir, 'ctl'));
    writeFileSync(join(dir, 'ctl', 'controller.sqlite'), garbage);
    const r = await runCli(['controller', '--name', 'ctl', '--client-port', '0', '--agent-port', '0', '--state-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /zeek-mgmt controller: cannot open the controller database .*controller\.sqlite: .*move it aside/);
    assert.equal(readFileSync(join(dir, 'ctl', 'controller.sqlite'), 'utf8'), garbage);
  });

  /** A state directory with `config` staged by a controller that has stopped, then its database changed by `edit`. */
  async function stagedThenEdited(edit: (db: Database.Database) => void): Promise<string> {
    const dir = tempDir();
    const first = await startControllerProc(dir);
    const client = await connectClient(first.clientPort);
    await client.stage(config);
    await first.proc.stop();
    const db = new Database(join(dir, 'ctl', 'controller.sqlite'));
    try {
      edit(db);
    } finally {
      db.close();
    }
    return dir;
  }

  const runController = (dir: string): ReturnType<typeof runCli> =>
    runCli(['controller', '--name', 'ctl', '--client-port', '0', '--agent-port', '0', '--state-dir', dir]);

  test('a stored configuration that does not decode stops the controller too', async () => {
    const dir = await stagedThenEdited((db) => db.prepare("UPDATE configs SET body = '[1,2' WHERE state = 'staged'").run());
    const r = await runController(dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the staged configuration in .* is unreadable/);
  });

  test('stored JSON meets the strict decoders: a wrongly typed field stops the controller', async () => {
    const bad = { ...config, nodes: [{ ...config.nodes[0]!, port: { number: 'x', protocol: 'tcp' } }] };
    const dir = await stagedThenEdited((db) => db.prepare("UPDATE configs SET body = ? WHERE state = 'ready'").run(JSON.stringify(bad)));
    const r = await runController(dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the ready configuration in .* is unreadable: .*expected port/);
  });

  test('a schema 1 database (configurations in their Broker wire form) is read and upgraded', async () => {
    const dir = await stagedThenEdited((db) => {
      db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema'").run();
      db.prepare("UPDATE configs SET body = ? WHERE state = 'staged'").run(writeValue(encodeConfiguration({ ...config, id: 'persist-v1' })));
    });
    const second = await startControllerProc(dir);
    const client = await connectClient(second.clientPort);
    const staged = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.deepEqual(decodeConfiguration(staged.data!, 'c'), { ...config, id: 'persist-v1' });
    await second.proc.stop();
    const db = new Database(join(dir, 'ctl', 'controller.sqlite'), { readonly: true });
    try {
      assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), '3');
    } finally {
      db.close();
    }
  });
});

describe('controller command line', () => {
  test('bad flag values give one clear line and exit 2', async () => {
    for (const [args, re] of [
      [['--client-port', 'x'], /--client-port must be a port number/],
      [['--request-timeout', '-1'], /--request-timeout must be a positive number of seconds/],
      [['--metrics-port-start', '70000'], /--metrics-port-start must be a port number/],
      [['--log-level', 'loud'], /--log-level must be one of trace, debug, info/],
    ] as const) {
      const r = await runCli(['controller', '--state-dir', tempDir(), ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('a port in use and disabled port assignment are reported clearly', async () => {
    const ctl = await startControllerProc(tempDir(), ['--no-auto-assign-ports']);
    const r = await runCli(['controller', '--name', 'other', '--client-port', String(ctl.clientPort), '--agent-port', '0', '--state-dir', tempDir()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`zeek-mgmt controller: cannot listen: address in use \\(127\\.0\\.0\\.1:${ctl.clientPort}\\)`));
    const client = await connectClient(ctl.clientPort);
    const results = await client.stage(config);
    assert.deepEqual(results.map((x) => x.error), [
      'Broker port auto-assignment disabled but nodes logger, manager lack ports',
      'port auto-assignment disabled but the ZeroMQ cluster lacks xpub_port/xsub_port',
    ]);
  });

  test('environment variables set name and ports; SIGTERM closes cleanly with exit 0', async () => {
    const dir = tempDir();
    const ctl = await startControllerProc(dir, [], {});
    assert.ok(ctl.clientPort > 0 && ctl.agentPort > 0 && ctl.clientPort !== ctl.agentPort);
    ctl.proc.child.kill('SIGTERM');
    assert.equal(await ctl.proc.exited(), 0);
    const env = await startEnvController(dir);
    assert.match(env.stderr(), /"name":"ctl-env"/);
    env.child.kill('SIGINT');
    assert.equal(await env.exited(), 0);
  });
});

async function startEnvController(dir: string) {
  const proc = spawnCli(['controller'], {
    env: { ZEEK_CONTROLLER_NAME: 'ctl-env', ZEEK_CONTROLLER_PORT: '0', ZEEK_CONTROLLER_WEBSOCKET_PORT: '0', ZEEK_MANAGEMENT_STATE_DIR: dir },
  });
  await proc.waitFor(/controller is live: clients on 127\.0\.0\.1:\d+, agents on 127\.0\.0\.1:\d+/);
  return proc;
}
