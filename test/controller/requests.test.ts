import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerApi, decodeConfiguration, decodeInstance, failure, type Configuration, type Node, type Result } from '../../src/management/index.js';
import type { Value } from '../../src/protocol/index.js';
import { eventually, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { startControllerProc, TestAgent, TestClient } from './harness.js';

const tcp = (number: number) => ({ number, protocol: 'tcp' as const });
const node = (name: string, role: Node['role'], instance = 'agent-testbox', extra: Partial<Node> = {}): Node =>
  ({ name, instance, role, state: 'RUNNING', env: {}, ...(role === 'WORKER' ? { interface: 'lo' } : {}), ...extra });
const mini = (id = 'mini-1'): Configuration => ({
  id,
  instances: [{ name: 'agent-testbox', host: '127.0.0.1' }],
  nodes: [node('manager', 'MANAGER'), node('logger', 'LOGGER'), node('worker-01', 'WORKER'), node('worker-02', 'WORKER', 'agent-testbox', { interface: 'eth0' })],
});
const items = (v: Value | undefined): readonly Value[] => (v?.type === 'vector' ? v.value : assert.fail(`expected a vector, got ${v?.type}`));
const errorsOf = (results: readonly Result[]) => results.filter((r) => !r.success).map((r) => r.error);

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

async function setup(extra: string[] = []) {
  const ctl = await startControllerProc(tempDir(), extra);
  const client = await TestClient.connect(ctl.clientPort);
  closers.push(() => client.close());
  return { ctl, client };
}

async function agent(name: string, at: { agentPort: number; stateDir: string }): Promise<TestAgent> {
  const a = new TestAgent(name);
  closers.push(() => a.close());
  await a.connect(at);
  return a;
}

describe('controller requests', () => {
  test('with nothing staged or connected, each request gets the original\'s error', async () => {
    const { client } = await setup();
    const get = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.equal(get.error, 'no staged configuration available');
    const getDeployed = await client.request((r) => ControllerApi.getConfiguration.request.make(r, true), ControllerApi.getConfiguration.response);
    assert.equal(getDeployed.error, 'no deployed configuration available');
    assert.deepEqual(errorsOf(await client.deploy()), ['no configuration available to deploy']);
    assert.deepEqual(errorsOf(await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response)), ['no instances connected']);
    assert.deepEqual(errorsOf(await client.request((r) => ControllerApi.getIdValue.request.make(r, 'Cluster::node', []), ControllerApi.getIdValue.response)), ['no cluster deployed']);
    assert.deepEqual(errorsOf(await client.request((r) => ControllerApi.restart.request.make(r, []), ControllerApi.restart.response)), ['no instances connected']);
    const instances = await client.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);
    assert.equal(instances.success, true);
    assert.deepEqual(instances.data, { type: 'vector', value: [] });
    const t = await client.request((r) => ControllerApi.testTimeout.request.make(r, true), ControllerApi.testTimeout.response, 5000);
    assert.equal(t.error, 'request timed out');
  });

  test('agents whose names prefix each other\'s never get each other\'s messages through the controller', async () => {
    const { ctl, client } = await setup();
    const [one, ten] = [await agent('agent-1', ctl), await agent('agent-10', ctl)];
    await eventually(async () => {
      const got = await client.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);
      return items(got.data).length === 2;
    });
    const results = await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response);
    assert.deepEqual(results.map((r) => r.instance).sort(), ['agent-1', 'agent-10']);
    // Both answered; agent-1 subscribes to the prefix of agent-10's topic, but what agent-10 says is for the controller.
    // Barrier: a second request reaches each agent after anything relayed from the first round would have.
    await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response);
    const request = 'Management::Agent::API::get_nodes_request';
    await eventually(() => one.received.length >= 2 && ten.received.length >= 2);
    assert.deepEqual(one.received.map((e) => e.name), [request, request]);
    assert.deepEqual(ten.received.map((e) => e.name), [request, request]);
  });

  test('stage, get and deploy round trip: ports assigned, one Result per node, relayed requests', async () => {
    const { ctl, client } = await setup();
    const a = await agent('agent-testbox', ctl);
    const instances = await client.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);
    assert.equal(instances.data?.type, 'vector');
    const names = items(instances.data).map((v) => decodeInstance(v, 'i').name);
    assert.deepEqual(names, ['agent-testbox']);

    const staged = await client.stage(mini());
    assert.deepEqual(staged.map((r) => [r.success, r.data]), [[true, { type: 'string', value: 'mini-1' }]]);
    const got = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.deepEqual(decodeConfiguration(got.data!, 'c'), mini(), 'staged configuration is kept as sent');

    const deployed = await client.deploy();
    assert.deepEqual(deployed.filter((r) => r.node).map((r) => [r.node, r.success]).sort(), [['logger', true], ['manager', true], ['worker-01', true], ['worker-02', true]]);
    assert.deepEqual(deployed.at(-1)?.data, { type: 'string', value: 'mini-1' });
    assert.equal(a.deployed.length, 1);
    const ports = Object.fromEntries(a.deployed[0]!.nodes.map((n) => [n.name, [n.port?.number, n.metricsPort?.number]]));
    assert.deepEqual(ports, { manager: [2200, 9000], logger: [2201, 9001], 'worker-01': [undefined, 9002], 'worker-02': [undefined, 9003] });
    const dep = await client.request((r) => ControllerApi.getConfiguration.request.make(r, true), ControllerApi.getConfiguration.response);
    assert.equal(decodeConfiguration(dep.data!, 'c').nodes.find((n) => n.name === 'manager')?.port?.number, 2200);

    const nodes = await client.request((r) => ControllerApi.getNodes.request.make(r), ControllerApi.getNodes.response);
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]!.instance, 'agent-testbox');
    assert.equal(items(nodes[0]!.data).length, 4);

    const idv = await client.request((r) => ControllerApi.getIdValue.request.make(r, 'Cluster::node', ['manager', 'nope']), ControllerApi.getIdValue.response);
    assert.deepEqual(idv.map((r) => [r.node, r.success, r.error ?? null]).sort(), [['manager', true, null], ['nope', false, 'unknown cluster node']]);
    assert.deepEqual(a.received.filter((e) => e.name.endsWith('node_dispatch_request')).length, 1);
    const onlyUnknown = await client.request((r) => ControllerApi.restart.request.make(r, ['ghost']), ControllerApi.restart.response);
    assert.deepEqual(onlyUnknown.map((r) => [r.node, r.error]), [['ghost', 'unknown cluster node']]);
    const restartAll = await client.request((r) => ControllerApi.restart.request.make(r, []), ControllerApi.restart.response);
    assert.deepEqual(restartAll.map((r) => r.node).sort(), ['logger', 'manager', 'worker-01', 'worker-02']);
  });

  test('an invalid configuration gets one sorted Result per problem and the staged one stays', async () => {
    const { client } = await setup();
    await client.stage(mini('good'));
    const bad: Configuration = {
      id: 'bad',
      instances: [{ name: 'agent-testbox', host: '127.0.0.1' }],
      nodes: [node('manager', 'MANAGER', 'agent-testbox', { port: tcp(2300) }), node('logger', 'LOGGER', 'agent-testbox', { port: tcp(2300) }), node('w', 'WORKER', 'elsewhere')],
    };
    const results = await client.stage(bad);
    assert.deepEqual(results.map((r) => [r.success, r.error]), [
      [false, "multiple nodes on instance 'agent-testbox' using port 2300/tcp"],
      [false, "node 'w' has undeclared instance name 'elsewhere'"],
    ]);
    const got = await client.request((r) => ControllerApi.getConfiguration.request.make(r, false), ControllerApi.getConfiguration.response);
    assert.equal(decodeConfiguration(got.data!, 'c').id, 'good');
  });

  test('an agent that never answers: the deploy times out with what arrived', async () => {
    const { ctl, client } = await setup();
    const a = await agent('agent-testbox', ctl);
    const b = await agent('agent-two', ctl);
    a.deployBehaviour = { silent: true };
    const config = mini('two');
    config.instances.push({ name: 'agent-two', host: '127.0.0.1' });
    config.nodes.push(node('proxy', 'PROXY', 'agent-two'));
    assert.equal((await client.stage(config))[0]?.success, true);
    const results = await client.deploy();
    assert.deepEqual(results.map((r) => [r.node ?? null, r.success, r.error ?? null]), [['proxy', true, null], [null, false, 'request timed out']]);
    assert.equal(b.deployed.length, 1);
    await ctl.proc.waitFor(/request .* timed out/);
  });

  test('a late response is logged and ignored; the controller keeps serving', async () => {
    const { ctl, client } = await setup();
    const a = await agent('agent-testbox', ctl);
    a.deployBehaviour = { delayMs: 1500 };
    await client.stage(mini());
    assert.deepEqual(errorsOf(await client.deploy()), ['request timed out']);
    await ctl.proc.waitFor(/ignoring deploy_response .*late or unknown/);
    a.deployBehaviour = {};
    assert.deepEqual(errorsOf(await client.deploy()), []);
  });

  test('two deploys at once: the second is refused while the first is pending', async () => {
    const { ctl, client } = await setup();
    const a = await agent('agent-testbox', ctl);
    a.deployBehaviour = { delayMs: 400 };
    await client.stage(mini());
    const first = client.deploy();
    await ctl.proc.waitFor(/tx Management::Agent::API::deploy_request/);
    const second = await client.request((r) => ControllerApi.deploy.request.make(r), ControllerApi.deploy.response);
    assert.equal(second.length, 1);
    assert.match(second[0]!.error ?? '', /^earlier deployment .+ still pending$/);
    assert.deepEqual(errorsOf(await first), []);
  });

  test('an agent that disconnects mid-deploy fails the deploy at once and is dropped', async () => {
    const { ctl, client } = await setup(['--request-timeout', '5']);
    const a = await agent('agent-testbox', ctl);
    a.deployBehaviour = { silent: true };
    await client.stage(mini());
    const started = Date.now();
    const pending = client.deploy();
    await ctl.proc.waitFor(/tx Management::Agent::API::deploy_request/);
    await a.close();
    const results = await pending;
    assert.ok(Date.now() - started < 4000, 'answered before the timeout');
    assert.deepEqual(errorsOf(results), ['instance agent-testbox disconnected']);
    const instances = await client.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);
    assert.deepEqual(instances.data, { type: 'vector', value: [] });
  });

  test('a deploy to an instance that never checks in names it', async () => {
    const { client } = await setup();
    await client.stage(mini());
    const results = await client.deploy();
    assert.deepEqual(results, [
      failure(results[0]!.reqid, 'instance agent-testbox did not check in', { instance: 'agent-testbox' }),
      failure(results[0]!.reqid, 'request timed out'),
    ]);
  });
});
