import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi, ControllerApi, decodeInstance, type Configuration, type Node } from '../../src/management/index.js';
import { str, type Value } from '../../src/protocol/index.js';
import { eventually, freePort, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { startControllerProc, TestAgent, TestClient } from './harness.js';

const node = (name: string, role: Node['role'], instance: string): Node =>
  ({ name, instance, role, state: 'RUNNING', env: {}, ...(role === 'WORKER' ? { interface: 'lo' } : {}) });
const items = (v: Value | undefined): readonly Value[] => (v?.type === 'vector' ? v.value : assert.fail(`expected a vector, got ${v?.type}`));

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

async function setup() {
  const ctl = await startControllerProc(tempDir());
  const client = await TestClient.connect(ctl.clientPort);
  closers.push(() => client.close());
  return { ctl, client };
}

const oneManager = (id: string, instance = 'agent-a'): Configuration =>
  ({ id, instances: [{ name: instance, host: '127.0.0.1' }], nodes: [node('manager', 'MANAGER', instance)] });

/** A controller, a client and agent-a running a one-manager configuration `id`. */
async function deployedOn(id: string) {
  const { ctl, client } = await setup();
  const a = newAgent('agent-a');
  await a.connect(ctl);
  await client.stage(oneManager(id));
  assert.deepEqual((await client.deploy()).filter((r) => !r.success), []);
  return { ctl, client, a };
}

function newAgent(name: string, apiVersion?: number): TestAgent {
  const a = new TestAgent(name, apiVersion);
  closers.push(() => a.close());
  return a;
}

const instanceNames = async (client: TestClient): Promise<string[]> => {
  const r = await client.request((id) => ControllerApi.getInstances.request.make(id), ControllerApi.getInstances.response);
  return items(r.data).map((v) => decodeInstance(v, 'i').name);
};

describe('agent sessions', () => {
  test('an agent with another API version is refused, told why and not known', async () => {
    const { ctl, client } = await setup();
    const a = newAgent('agent-future', 2);
    const errors: string[] = [];
    a.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    const down = new Promise((resolve) => a.endpoint.once('peer-down', resolve));
    await a.connect(ctl);
    await down;
    await ctl.proc.waitFor(/instance agent-future\/.* has checked in with incompatible API version 2/);
    assert.ok(errors.some((e) => /incompatible API version 2/.test(e)), `error sent to the agent: ${errors.join('; ')}`);
    assert.ok(a.received.some((e) => e.name === AgentApi.notifyError.name));
    assert.deepEqual(await instanceNames(client), []);
  });

  test('the controller dials an instance with a listen port; one session even if the agent also dials in', async () => {
    const { ctl, client } = await setup();
    const a = newAgent('agent-dialled');
    const port = await a.listen(ctl);
    const config: Configuration = {
      id: 'dial',
      instances: [{ name: 'agent-dialled', host: '127.0.0.1', listenPort: { number: port, protocol: 'tcp' } }],
      nodes: [node('manager', 'MANAGER', 'agent-dialled')],
    };
    assert.equal((await client.stage(config))[0]?.success, true);
    await a.connect(ctl);
    const results = await client.deploy(6000);
    assert.deepEqual(results.filter((r) => !r.success), []);
    assert.equal(a.count(AgentApi.deploy.request), 1, 'the deploy went over one session only');
    await eventually(() => a.endpoint.peerList().length === 2);
    assert.deepEqual(await instanceNames(client), ['agent-dialled']);
  });

  test('an instance whose agent is not listening yet is dialled again until it is', async () => {
    const { ctl, client } = await setup();
    const port = await freePort();
    const config: Configuration = {
      id: 'later',
      instances: [{ name: 'agent-late', host: '127.0.0.1', listenPort: { number: port, protocol: 'tcp' } }],
      nodes: [node('manager', 'MANAGER', 'agent-late')],
    };
    await client.stage(config);
    const deploy = client.deploy(8000);
    await new Promise((r) => setTimeout(r, 400));
    const a = newAgent('agent-late');
    await a.listen(ctl, port);
    assert.deepEqual((await deploy).filter((r) => !r.success), []);
    assert.equal(a.count(AgentApi.deploy.request), 1);
  });

  test('a second agent process under a connected name is refused and told why; the first keeps the instance', async () => {
    const { ctl, client, a: first } = await deployedOn('swap');
    const second = newAgent('agent-a');
    const errors: string[] = [];
    second.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    const down = new Promise((resolve) => second.endpoint.once('peer-down', resolve));
    await second.connect(ctl);
    await down;
    await ctl.proc.waitFor(/"level":"warn".*instance agent-a is already connected from 127\.0\.0\.1:\d+ \(agent [^)]+\); refusing a second agent of that name/);
    assert.match(errors.join('\n'), /instance agent-a is already connected/);
    assert.ok(second.received.some((e) => e.name === AgentApi.notifyError.name));
    assert.equal(second.count(AgentApi.deploy.request), 0);
    await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response);
    assert.equal(first.count(AgentApi.getNodes.request), 1);
    assert.equal(second.count(AgentApi.getNodes.request), 0);
  });

  test('a new agent process under a known name is brought to the deployed configuration once the old session is gone', async () => {
    const { ctl, client, a: old } = await deployedOn('swap');
    await old.close();
    const fresh = newAgent('agent-a');
    await eventually(async () => (await instanceNames(client)).length === 0);
    await fresh.connect(ctl);
    await eventually(() => fresh.count(AgentApi.deploy.request) === 1);
    assert.equal(fresh.deployed[0]?.id, 'swap');
  });

  test('an agent connecting under the name of an instance declared at another address is refused', async () => {
    const { ctl, client } = await setup();
    const config: Configuration = {
      id: 'declared',
      instances: [{ name: 'agent-far', host: '127.0.0.2', listenPort: { number: await freePort(), protocol: 'tcp' } }],
      nodes: [node('manager', 'MANAGER', 'agent-far')],
    };
    assert.equal((await client.stage(config))[0]?.success, true);
    const deploy = client.deploy(4000);
    const impostor = newAgent('agent-far');
    const errors: string[] = [];
    impostor.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    await impostor.connect(ctl);
    await eventually(() => errors.length > 0);
    assert.match(errors[0]!, /instance agent-far is declared at 127\.0\.0\.2:\d+, but this agent connected from 127\.0\.0\.1/);
    assert.equal(impostor.count(AgentApi.agentWelcome.request), 0);
    assert.equal(impostor.count(AgentApi.deploy.request), 0);
    assert.ok((await deploy).some((r) => r.error === 'instance agent-far did not check in'));
  });

  test('instances a new configuration drops are sent to standby', async () => {
    const { ctl, client } = await setup();
    const a = newAgent('agent-a');
    const b = newAgent('agent-b');
    await a.connect(ctl);
    await b.connect(ctl);
    const both: Configuration = {
      id: 'both',
      instances: [{ name: 'agent-a', host: '127.0.0.1' }, { name: 'agent-b', host: '127.0.0.1' }],
      nodes: [node('manager', 'MANAGER', 'agent-a'), node('w', 'WORKER', 'agent-b')],
    };
    await client.stage(both);
    assert.deepEqual((await client.deploy()).filter((r) => !r.success), []);
    assert.equal(b.count(AgentApi.agentStandby.request), 0);
    await client.stage({ ...both, id: 'only-a', instances: [both.instances[0]!], nodes: [both.nodes[0]!] });
    assert.deepEqual((await client.deploy()).filter((r) => !r.success), []);
    await eventually(() => b.count(AgentApi.agentStandby.request) === 1);
    assert.equal(b.count(AgentApi.deploy.request), 1);
    assert.equal(a.count(AgentApi.deploy.request), 2);
  });

  test('a deploy that cannot start (an instance never checks in) brings the others back to the deployed configuration', async () => {
    const { client, a } = await deployedOn('good');
    await client.stage(oneManager('ghostly', 'agent-ghost'));
    const results = await client.deploy();
    assert.deepEqual(results.map((r) => r.error), ['instance agent-ghost did not check in', 'request timed out']);
    assert.equal(a.count(AgentApi.agentStandby.request), 1);
    await eventually(() => a.count(AgentApi.deploy.request) === 2);
    assert.deepEqual(a.deployed.map((c) => c.id), ['good', 'good']);
    const deployed = await client.request((r) => ControllerApi.getConfiguration.request.make(r, true), ControllerApi.getConfiguration.response);
    assert.equal(deployed.success, true);
  });

  test('notifications are forwarded to clients, and clients hear once when the cluster is ready', async () => {
    const { ctl, client, a } = await deployedOn('ready-1');
    await client.waitFor(ControllerApi.notifyClusterReady, ([id]) => id === 'ready-1');
    const manager = a.deployed[0]!.nodes[0]!;
    a.send(AgentApi.notifyChange.make('agent-a', manager, 'RUNNING', 'CRASHED'));
    a.send(AgentApi.notifyLog.make('agent-a', 'hello from stdout', 'manager'));
    a.send(AgentApi.notifyError.make('agent-a', 'node crashed', 'manager'));
    await client.waitFor(AgentApi.notifyChange, ([, n, , s]) => n.name === 'manager' && s === 'CRASHED');
    await client.waitFor(AgentApi.notifyLog, ([, msg]) => msg === 'hello from stdout');
    await client.waitFor(AgentApi.notifyError, ([, msg, n]) => msg === 'node crashed' && n === 'manager');
    const before = client.events.filter((e) => e.name === ControllerApi.notifyClusterReady.name).length;
    // A crash loop: the node comes back and crashes again; the cluster is not announced ready again each time.
    a.send(AgentApi.notifyChange.make('agent-a', manager, 'CRASHED', 'RUNNING'));
    a.send(AgentApi.notifyChange.make('agent-a', manager, 'RUNNING', 'CRASHED'));
    a.send(AgentApi.notifyChange.make('agent-a', manager, 'CRASHED', 'RUNNING'));
    a.send(AgentApi.notifyLog.make('agent-a', 'barrier', 'manager'));
    await client.waitFor(AgentApi.notifyLog, ([, msg]) => msg === 'barrier');
    assert.equal(client.events.filter((e) => e.name === ControllerApi.notifyClusterReady.name).length, before);
    await ctl.proc.waitFor(/every node of ready-1 is RUNNING/);
  });

  test('malformed requests get a Broker error and change nothing', async () => {
    const { ctl, client } = await setup();
    await client.stage(oneManager('keep'));
    const errors: string[] = [];
    client.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    client.send({ name: ControllerApi.stageConfiguration.request.name, args: [str('r1')] });
    client.send({ name: ControllerApi.stageConfiguration.request.name, args: [str('r2'), str('not a configuration')] });
    client.send({ name: 'Management::Controller::API::launch_missiles_request', args: [str('r3')] });
    client.send({ name: ControllerApi.deploy.request.name, args: [str('r4'), str('extra')] });
    await eventually(() => errors.length === 4);
    assert.match(errors[0]!, /stage_configuration_request takes 2 arguments, got 1/);
    assert.match(errors[1]!, /args\[1\]/);
    assert.match(errors[2]!, /unknown event Management::Controller::API::launch_missiles_request/);
    assert.match(errors[3]!, /deploy_request takes 1 argument, got 2/);
    await ctl.proc.waitFor(/rejected malformed event/);
    const got = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.equal(got.success, true);
    assert.equal(items(got.data)[0]?.type === 'string' ? (items(got.data)[0] as { value: string }).value : '', 'keep');
    for (const [id, spec] of [['r1', ControllerApi.stageConfiguration.response], ['r2', ControllerApi.stageConfiguration.response], ['r4', ControllerApi.deploy.response]] as const) {
      const [, results] = await client.waitFor(spec, ([reqid]) => reqid === id);
      assert.equal(results.length, 1);
      assert.match(results[0]!.error ?? '', /^invalid request: /);
    }
    const rows = await client.request((r) => ControllerApi.getConfiguration.request.make(r, true), ControllerApi.getConfiguration.response);
    assert.equal(rows.error, 'no deployed configuration available', 'no deploy happened');
  });

  test('a client cannot speak for an agent: agent topics are refused on the client port', async () => {
    const { client } = await setup();
    const errors: string[] = [];
    client.endpoint.on('peer-error', (_p, e) => errors.push(e.context));
    client.endpoint.publishEvent('zeek/management/agent/agent-fake', AgentApi.notifyAgentHello.make('agent-fake', 'x', true, 1));
    await eventually(() => errors.length === 1);
    assert.match(errors[0]!, /publishing on topic zeek\/management\/agent\/agent-fake is not allowed on this port/);
    assert.deepEqual(await instanceNames(client), []);
  });

  test('a node with an unknown role is refused with a stage response naming it', async () => {
    const { client } = await setup();
    const chef = { ...node('cook', 'MANAGER', 'agent-a'), role: 'CHEF' as Node['role'] };
    const results = await client.stage({ id: 'chef', instances: [{ name: 'agent-a', host: '127.0.0.1' }], nodes: [chef] });
    assert.equal(results.length, 1);
    assert.match(results[0]!.error ?? '', /^invalid request: .*CHEF/);
    const got = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.equal(got.error, 'no staged configuration available');
  });
});
