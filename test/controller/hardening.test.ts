/**
 * A controller process against clients and agents that misbehave, as an
 * attacker or an unlucky operator would: what one client sends or receives
 * never reaches another, bad input of every size gets an error and changes
 * nothing stored, sessions that announce instances take them along when
 * they go, and the state directory is private.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import {
  AgentApi, ControllerApi, TOPIC_CONTROLLER, agentTopic, type Configuration, type Node, type Result,
} from '../../src/management/index.js';
import { WS_PATH, encodeData, encodeEvent, type ZeekEvent } from '../../src/protocol/index.js';
import { eventually, pidAlive, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { rawSession, terminateRawSessions } from '../helpers/raw-ws.js';
import { startControllerProc, TestAgent, TestClient, type ControllerProc } from './harness.js';

const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of closers.splice(0)) await c();
  terminateRawSessions();
  await stopAll();
  removeTempDirs();
});

const node = (name: string, role: Node['role'], extra: Partial<Node> = {}): Node =>
  ({ name, instance: 'agent-a', role, state: 'RUNNING', env: {}, ...(role === 'WORKER' ? { interface: 'lo' } : {}), ...extra });
const config = (id: string, nodes: Node[] = [node('manager', 'MANAGER')]): Configuration =>
  ({ id, instances: [{ name: 'agent-a', host: '127.0.0.1' }], nodes });

async function client(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port);
  closers.push(() => c.close());
  return c;
}


const getInstances = (c: TestClient): Promise<Result> => c.request((id) => ControllerApi.getInstances.request.make(id), ControllerApi.getInstances.response);
const staged = (c: TestClient): Promise<Result> => c.request((id) => ControllerApi.getConfiguration.request.make(id, false), ControllerApi.getConfiguration.response);
const responseReqid = (e: ZeekEvent): string | undefined => (e.name.endsWith('_response') && e.args[0]?.type === 'string' ? e.args[0].value : undefined);

/** The controller process is alive and answers. */
async function stillServes(ctl: ControllerProc): Promise<void> {
  assert.ok(pidAlive(ctl.proc.pid), 'the controller is alive');
  const c = await client(ctl.clientPort);
  assert.equal((await getInstances(c)).success, true);
}

describe('controller hardening', () => {
  test('50 concurrent clients each see only their own responses; what one publishes reaches no other; notifications reach them all', async () => {
    const ctl = await startControllerProc(tempDir());
    const clients = await Promise.all(Array.from({ length: 50 }, () => client(ctl.clientPort)));
    const agent = new TestAgent('agent-a');
    closers.push(() => agent.close());
    await agent.connect(ctl);
    const own = clients.map(() => new Set<string>());
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < 4; k++) {
        const reqid = `client-${i}-${k}-${randomUUID()}`;
        own[i]!.add(reqid);
        c.send(k % 2 ? ControllerApi.getInstances.request.make(reqid) : ControllerApi.getConfiguration.request.make(reqid, false));
        await c.waitFor(k % 2 ? ControllerApi.getInstances.response : ControllerApi.getConfiguration.response, (a) => a[0] === reqid);
      }
    }));
    // Client 0 forges a response and publishes a notification of its own; it is answered after both were handled.
    clients[0]!.send(ControllerApi.getInstances.response.make('forged', { reqid: 'forged', success: true }));
    clients[0]!.send(AgentApi.notifyLog.make('agent-a', 'forged by a client', ''));
    const afterForging = await getInstances(clients[0]!);
    own[0]!.add(afterForging.reqid);
    // A real notification from the agent goes to every client.
    agent.send(AgentApi.notifyLog.make('agent-a', 'from the agent', 'manager'));
    // Barrier: every client's last request is answered after everything above was sent.
    await Promise.all(clients.map(async (c, i) => {
      const r = await getInstances(c);
      own[i]!.add(r.reqid);
      await c.waitFor(AgentApi.notifyLog, (a) => a[1] === 'from the agent');
    }));
    clients.forEach((c, i) => {
      const responses = c.events.map(responseReqid).filter((r) => r !== undefined);
      assert.equal(responses.length, own[i]!.size, `client ${i} got one response per request`);
      assert.deepEqual(responses.filter((r) => !own[i]!.has(r)), [], `client ${i} got no other client's response (nor the forged one)`);
      const forgedLog = c.events.some((e) => e.name === AgentApi.notifyLog.name && e.args[1]?.type === 'string' && e.args[1].value === 'forged by a client');
      assert.equal(forgedLog, false, `client ${i} got nothing a client published`);
    });
  });

  test('the agents\' port: a session without a key is refused; a proven agent hears no client notifications, nor another agent\'s', async () => {
    const ctl = await startControllerProc(tempDir());
    const agent = new TestAgent('agent-a');
    const other = new TestAgent('agent-b');
    closers.push(() => agent.close(), () => other.close());
    await agent.connect(ctl);
    await other.connect(ctl);
    // A session that proves no key never gets a WebSocket, whatever it subscribes to.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${ctl.agentPort}${WS_PATH}`);
      closers.push(() => ws.terminate());
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 403);
    const c = await client(ctl.clientPort);
    agent.send(AgentApi.notifyLog.make('agent-a', 'secret-ish', 'manager'));
    await c.waitFor(AgentApi.notifyLog, (a) => a[1] === 'secret-ish');
    // Barrier for agent-b: a request of the controller's to it comes after the notification went out.
    const seen = other.received.length;
    await c.request((id) => ControllerApi.getNodes.request.make(id), ControllerApi.getNodes.response);
    assert.ok(other.received.length > seen, 'agent-b got the get_nodes request (the barrier)');
    assert.ok(!other.received.some((e) => JSON.stringify(e.args).includes('secret-ish')), 'agent-b heard nothing of agent-a\'s notification');
  });

  test('deep nesting on either port, huge event names and over-long request ids change nothing and kill nothing', async () => {
    const dir = tempDir();
    const ctl = await startControllerProc(dir);
    const c = await client(ctl.clientPort);
    assert.equal((await c.stage(config('keep-me')))[0]!.success, true);
    const logBefore = statSync(join(ctl.stateDir, 'management.log')).size;
    const deep = (n: number): string => '{"@data-type":"vector","data":['.repeat(n) + ']}'.repeat(n);
    const bad = await rawSession(ctl.clientPort, JSON.stringify([TOPIC_CONTROLLER]));
    bad.ws.send(`{"type":"data-message","topic":"${TOPIC_CONTROLLER}",${deep(5000).slice(1)}`);
    const name = `Management::Controller::API::${'x'.repeat(1024 * 1024)}`;
    bad.ws.send(encodeData(TOPIC_CONTROLLER, encodeEvent({ name, args: [] })));
    const hugeId = 'r'.repeat(2 * 1024 * 1024);
    bad.ws.send(encodeData(TOPIC_CONTROLLER, encodeEvent(ControllerApi.deploy.request.make(hugeId))));
    bad.ws.send(encodeData(TOPIC_CONTROLLER, encodeEvent(ControllerApi.stageConfiguration.request.make(hugeId, config('big-id')))));
    await eventually(() => bad.frames.length >= 5, 10000, 5);
    const errors = bad.frames.slice(1).map((f) => JSON.parse(f) as { type: string; context: string });
    assert.ok(errors.every((e) => e.type === 'error'), 'each was answered with an error, none with a response echoing the id');
    assert.match(errors[0]!.context, /nested more than 32 levels deep/);
    assert.match(errors[1]!.context, /unknown event Management::Controller::API::x{100}/);
    assert.ok(errors[1]!.context.length < 1024, 'the error quotes the start of the name only');
    assert.match(errors[2]!.context, /request id of 2097152 characters exceeds the limit of 256/);
    assert.ok(bad.frames.every((f) => f.length < 4096), 'nothing echoed the 2 MiB id');
    // A handshake of nested arrays (the agents' port admits no session that proves no key, so the clients' port).
    const deepHello = await rawSession(ctl.clientPort, '['.repeat(10_000) + ']'.repeat(10_000));
    assert.equal(JSON.parse(deepHello.frames[0]!).code, 'invalid_handshake');
    await stillServes(ctl);
    assert.equal((await staged(c)).success, true);
    await eventually(() => readFileSync(join(ctl.stateDir, 'management.log'), 'utf8').includes('exceeds the limit of 256'), 5000);
    await ctl.proc.stop();
    const db = new Database(join(ctl.stateDir, 'controller.sqlite'), { readonly: true });
    closers.push(() => { db.close(); });
    assert.deepEqual(db.prepare('SELECT id FROM deployments').all(), [], 'no deployment was recorded');
    assert.deepEqual(db.prepare('SELECT config_id FROM configs WHERE state = ?').get('staged'), { config_id: 'keep-me' });
    const grown = statSync(join(ctl.stateDir, 'management.log')).size - logBefore;
    assert.ok(grown < 64 * 1024, `management.log grew by ${grown} bytes for ~5 MiB of bad input`);
    assert.ok(readFileSync(join(ctl.stateDir, 'management.log'), 'utf8').split('\n').every((l) => l.length < 8 * 1024), 'no line is longer than a few KiB');
  });

  test('a session speaks for the instance it proved: a hello for another is refused, and what it announced goes with it', async () => {
    const ctl = await startControllerProc(tempDir());
    const c = await client(ctl.clientPort);
    const ghost = new TestAgent('ghost-0');
    closers.push(() => ghost.close());
    const errors: string[] = [];
    ghost.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    const down = new Promise((resolve) => ghost.endpoint.once('peer-down', resolve));
    await ghost.connect(ctl);
    await eventually(async () => {
      const r = await getInstances(c);
      return r.data?.type === 'vector' && r.data.value.length === 1;
    }, 5000);
    for (let i = 1; i < 3; i++) ghost.endpoint.publishEvent(agentTopic('ghost-0'), AgentApi.notifyAgentHello.make(`ghost-${i}`, 'ghost-id', true, 1));
    await down;
    assert.ok(errors.some((e) => /refused a hello as instance ghost-1 from a session proven as agent:ghost-0/.test(e)), errors.join('; '));
    await eventually(async () => {
      const r = await getInstances(c);
      return r.data?.type === 'vector' && r.data.value.length === 0;
    }, 5000);
    const started = Date.now();
    const nodes = await c.request((id) => ControllerApi.getNodes.request.make(id), ControllerApi.getNodes.response);
    assert.deepEqual(nodes.map((r) => r.error), ['no instances connected']);
    assert.ok(Date.now() - started < 900, 'answered at once, not after the request timeout');
  });

  test('stage refuses what would reach generated files or command lines, and configurations over the limits, naming the limit', async () => {
    const ctl = await startControllerProc(tempDir(), ['--max-nodes', '3', '--max-config-size', '8K']);
    const c = await client(ctl.clientPort);
    const errorsOf = async (cfg: Configuration): Promise<string[]> => (await c.stage(cfg)).filter((r) => !r.success).map((r) => r.error!);
    assert.deepEqual(await errorsOf(config('id\nredef Site::local_nets += { 0.0.0.0/0 };')), ["configuration id 'id\nredef Site::local_nets += { 0.0.0.0/0 };' holds control characters"]);
    assert.deepEqual(await errorsOf(config('opts', [node('manager', 'MANAGER', { scripts: ['-e', 'Foo=1', 'local'] })])), [
      'node \'manager\' has a script "-e" that would be read by zeek as an option or a redef (no leading \'-\', no \'=\')',
      'node \'manager\' has a script "Foo=1" that would be read by zeek as an option or a redef (no leading \'-\', no \'=\')',
    ]);
    assert.deepEqual(await errorsOf(config('iface', [node('manager', 'MANAGER'), node('w', 'WORKER', { interface: 'eth0 -e' })])), ['node \'w\' has an invalid interface name "eth0 -e"']);
    assert.deepEqual(await errorsOf(config('long', [node('n'.repeat(200), 'MANAGER')])), [`node name '${'n'.repeat(128)}' is not usable (letters, digits, '.', '_', '-', at most 128)`]);
    const four = [node('manager', 'MANAGER'), ...[1, 2, 3].map((i) => node(`w${i}`, 'WORKER'))];
    assert.deepEqual(await errorsOf(config('many', four)), ['configuration has 4 nodes, more than the limit of 3 (--max-nodes)']);
    const bulky = config('bulky', [node('manager', 'MANAGER', { env: { BIG: 'x'.repeat(10_000) } })]);
    assert.match((await errorsOf(bulky))[0]!, /^configuration of \d+ bytes exceeds the limit of 8192 bytes \(--max-config-size\)$/);
    assert.equal((await staged(c)).error, 'no staged configuration available', 'nothing was staged');
  });

  test('a client that stops reading is dropped once its queue passes --max-queue; the controller keeps serving', async () => {
    const dir = tempDir();
    const ctl = await startControllerProc(dir, ['--max-queue', '1M']);
    const c = await client(ctl.clientPort);
    const nodes = [node('manager', 'MANAGER'), ...Array.from({ length: 400 }, (_, i) => node(`worker-${i}`, 'WORKER', { env: { PAD: 'p'.repeat(200) } }))];
    assert.equal((await c.stage(config('large', nodes)))[0]!.success, true);
    const slow = await rawSession(ctl.clientPort, JSON.stringify([TOPIC_CONTROLLER]));
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    for (let i = 0; i < 300; i++) slow.ws.send(encodeData(TOPIC_CONTROLLER, encodeEvent(ControllerApi.getConfiguration.request.make(`slow-${i}`, false))));
    await ctl.proc.waitFor(/dropping peer .*: it stopped reading and \d+ bytes wait for it \(limit 1048576\)/, 20000);
    await stillServes(ctl);
  });

  test('state directory 0700; database, its -wal, and management.log 0600', async () => {
    const ctl = await startControllerProc(join(tempDir(), 'base'));
    const dir = ctl.stateDir;
    const c = await client(ctl.clientPort);
    assert.equal((await c.stage(config('secret', [node('manager', 'MANAGER', { env: { TOKEN: 's3cret' } })])))[0]!.success, true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const files = readdirSync(dir).sort();
    // Exclusive locking: SQLite keeps its WAL index in memory, there is no -shm file.
    assert.deepEqual(files, ['agent-secret', 'controller.lock', 'controller.sqlite', 'controller.sqlite-wal', 'management.log']);
    for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  });

  test('management.log rotates past --log-max-size and keeps --log-keep files', async () => {
    const ctl = await startControllerProc(tempDir(), ['--log-max-size', '16K', '--log-keep', '2']);
    const dir = ctl.stateDir;
    const c = await client(ctl.clientPort);
    for (let i = 0; i < 150; i++) await getInstances(c);
    await eventually(() => readdirSync(dir).includes('management.log.2'), 5000);
    for (let i = 0; i < 50; i++) await getInstances(c);
    await ctl.proc.stop();
    const logs = readdirSync(dir).filter((f) => f.startsWith('management.log')).sort();
    assert.deepEqual(logs, ['management.log', 'management.log.1', 'management.log.2']);
    for (const f of logs) {
      assert.ok(statSync(join(dir, f)).size <= 16 * 1024, `${f} is within the size`);
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    }
  });
});
