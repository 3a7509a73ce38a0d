import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi, agentTopic } from '../../src/management/index.js';
import { enumValue, str, vector, bool, set, type PeerInfo } from '../../src/protocol/index.js';
import { eventually } from '../helpers/process.js';
import {
  AGENT, FakeController, cleanup, configuration, freePort, getNodes, node, spawnAgent, waitForStates,
} from './harness.js';

let c: FakeController;
let peer: PeerInfo;
let pids: Map<string, number | undefined>;
let listenPort: number;
const errors: string[] = [];

before(async () => {
  c = await FakeController.start();
  c.endpoint.on('peer-error', (_p, e) => errors.push(`${e.code}: ${e.context}`));
  const agent = spawnAgent(c.port);
  ({ peer } = await c.hello(AGENT));
  listenPort = Number((await agent.proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const nodes = [
    node('manager', 'MANAGER', { port: { number: await freePort(), protocol: 'tcp' } }),
    node('worker-1', 'WORKER', { interface: 'lo', scripts: ['policy/tuning/json-logs'] }),
    node('worker-hang', 'WORKER', { interface: 'lo', env: { ZEEK_MGMT_SIM_HANG: 'yes' } }),
    node('worker-mute', 'WORKER', { interface: 'lo', env: { ZEEK_MGMT_SIM_MUTE: '1' } }),
  ];
  await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-good', nodes), false]);
  const states = await waitForStates(c, peer, ['manager', 'worker-1', 'worker-mute'], 'RUNNING');
  pids = new Map([...states.values()].map((s) => [s.node, s.pid]));
});

after(cleanup);

async function assertUntouched(): Promise<void> {
  const now = await getNodes(c, peer);
  assert.equal(now.get('manager')?.state, 'RUNNING');
  assert.equal(now.get('worker-1')?.state, 'RUNNING');
  assert.equal(now.get('manager')?.pid, pids.get('manager'));
  assert.equal(now.get('worker-1')?.pid, pids.get('worker-1'));
}

describe('bad input to the agent', () => {
  test('dispatch: unknown nodes, unknown ids and actions, nodes not running', async () => {
    const [, results] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response,
      [['get_id_value', 'LogAscii::use_json'], ['worker-1', 'worker-hang', 'no-such-node']]);
    const byNode = new Map(results.map((r) => [r.node, r]));
    assert.equal(byNode.get('no-such-node')?.error, 'unknown cluster node no-such-node');
    assert.equal(byNode.get('worker-hang')?.error, 'cluster node worker-hang not in running state');
    assert.equal(byNode.get('worker-1')?.success, true);
    assert.equal(byNode.get('worker-1')?.instance, AGENT);
    assert.deepEqual(byNode.get('worker-1')?.data, str('true'), 'json-logs script turns on LogAscii::use_json');

    const [, unknownId] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['get_id_value', 'No::such_id'], ['manager']]);
    assert.deepEqual(unknownId.map((r) => [r.node, r.success, r.error]), [['manager', false, 'unknown id']]);
    const [, unknownAction] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['frobnicate'], ['manager']]);
    assert.deepEqual(unknownAction.map((r) => r.error), ['dispatch frobnicate unknown']);
    const [, noId] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['get_id_value'], ['manager']]);
    assert.deepEqual(noId.map((r) => r.error), ['get_id_value expects name of global identifier']);
    await assertUntouched();
  });

  test('a running node that does not answer a dispatch times out; the others answer', async () => {
    const started = Date.now();
    const [, results] = await c.request(peer, AGENT, AgentApi.nodeDispatch.request, AgentApi.nodeDispatch.response, [['get_id_value', 'Cluster::node'], ['worker-mute', 'manager']]);
    const byNode = new Map(results.map((r) => [r.node, r]));
    assert.deepEqual([byNode.get('worker-mute')?.success, byNode.get('worker-mute')?.error], [false, 'request timed out']);
    assert.deepEqual(byNode.get('manager')?.data, str('"manager"'));
    assert.ok(Date.now() - started >= 3500, 'waited for the node timeout (4 s)');
  });

  test('restart naming unknown nodes', async () => {
    const [, results] = await c.request(peer, AGENT, AgentApi.restart.request, AgentApi.restart.response, [['ghost']]);
    assert.deepEqual(results.map((r) => [r.node, r.success, r.error]), [['ghost', false, 'unknown cluster node ghost']]);
    await assertUntouched();
  });

  test('a configuration the agent cannot run is refused as a whole', async () => {
    const bad = configuration('cfg-bad', [
      node('../escape', 'WORKER', { interface: 'lo' }),
      node('worker-x', 'WORKER', { interface: 'lo', env: { 'BAD=NAME': '1' } }),
      node('elsewhere', 'WORKER', { instance: 'agent-undeclared' }),
      node(AGENT, 'WORKER', { interface: 'lo' }),
      node('pinned', 'WORKER', { interface: 'lo', cpuAffinity: 100_000 }),
      node('squatter', 'PROXY', { port: { number: listenPort, protocol: 'tcp' } }),
    ]);
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [bad, false]);
    assert.ok(results.every((r) => !r.success && r.instance === AGENT));
    const texts = results.map((r) => r.error ?? '');
    assert.ok(texts.some((t) => /node name "\.\.\/escape" cannot be used as a directory name/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => /invalid environment variable name "BAD=NAME"/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => /names instance "agent-undeclared", which the configuration does not declare/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => t === `invalid configuration: node "${AGENT}" has the name of its agent; names are unique across agents, controller and nodes`), texts.join('\n'));
    assert.ok(texts.some((t) => new RegExp(`^invalid configuration: node "pinned" is pinned to CPU 100000, but instance ${AGENT} has CPUs [\\d,-]+$`).test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => t === `invalid configuration: node "squatter" port ${listenPort} is the port agent ${AGENT} listens on`), texts.join('\n'));
    assert.equal(results.length, 6);
    await assertUntouched();
    // Still running the old configuration: deploying its id again is a no-op.
    const [, same] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response, [configuration('cfg-good', []), false]);
    assert.deepEqual(same.map((r) => [r.success, r.node]), [[true, undefined]]);
  });

  test('a malformed deploy_request from the wire gets an error and its response; nothing changes', async () => {
    const reqid = c.nextReqid();
    const badNode = vector([str('w'), str(AGENT), enumValue('Supervisor::BOGUS'), enumValue('Management::PENDING')]);
    const badConfig = vector([str('cfg-wire'), set([]), set([badNode])]);
    c.endpoint.publishEvent(agentTopic(AGENT), { name: AgentApi.deploy.request.name, args: [str(reqid), badConfig, bool(false)] }, { to: peer.id });
    const [, results] = await c.awaitResponse(reqid, AgentApi.deploy.response);
    assert.equal(results.length, 1);
    assert.equal(results[0]!.success, false);
    assert.match(results[0]!.error ?? '', /^invalid request: .*deploy_request: args\[1\]\[2\]\[0\]\[2\]: expected one of Supervisor::NONE/);
    await eventually(() => errors.some((e) => /^invalid_data: .*Supervisor::BOGUS/.test(e)), 3000);

    // Wrong arity and an unknown event: errors, no crash.
    c.endpoint.publishEvent(agentTopic(AGENT), { name: AgentApi.getNodes.request.name, args: [] }, { to: peer.id });
    c.endpoint.publishEvent(agentTopic(AGENT), { name: 'Management::Agent::API::self_destruct_request', args: [str('x')] }, { to: peer.id });
    await eventually(() => errors.some((e) => /unknown event Management::Agent::API::self_destruct_request/.test(e)), 3000);
    await assertUntouched();
  });
});
