/**
 * Deployer with the agents played by the test (their requests captured,
 * their answers handed to the Gatherer), a real store in a temp directory
 * and a manual clock: welcome before deploy, the history, deadlines,
 * bringing an agent back, and cluster readiness.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentApi, ControllerApi, RequestTracker, failure, success, type Configuration, type RequestKind, type Result,
} from '../../src/management/index.js';
import { createLogger } from '../../src/management/log.js';
import { Endpoint, type PeerInfo, type ZeekEvent } from '../../src/protocol/index.js';
import { resolveControllerOptions } from '../../src/controller/config.js';
import type { ControllerContext } from '../../src/controller/context.js';
import { Deployer } from '../../src/controller/deploy.js';
import { rollingRestart } from '../../src/controller/operations.js';
import { Gatherer } from '../../src/controller/gather.js';
import { InstanceRegistry } from '../../src/controller/instances.js';
import { ConfigStates } from '../../src/controller/state.js';
import { ControllerStore } from '../../src/controller/store.js';
import { ManualClock } from '../helpers/clock.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

interface Sent { instance: string; event: ZeekEvent; reqid: string }

/** A deploy_request from the client session `client-1`. */
const ASKED = { answer: ControllerApi.deploy, kind: 'deploy' as const, client: 'client-1' };

const config = (id: string, instances: string[]): Configuration => ({
  id,
  instances: instances.map((name) => ({ name, host: '127.0.0.1' })),
  nodes: instances.map((instance, i) => ({ name: `node-${i}`, instance, role: i === 0 ? 'MANAGER' : 'WORKER', state: 'RUNNING', env: {} })),
});

function setup() {
  const resolved = resolveControllerOptions({ name: 'ctl-unit', stateDir: tempDir(), requestTimeout: '1' }, {});
  assert.ok(resolved.ok);
  const options = resolved.value;
  const log = createLogger({ name: options.name, role: 'controller', quiet: true });
  const store = ControllerStore.open(options.stateDir);
  const endpoint = new Endpoint();
  const instances = new InstanceRegistry(endpoint, 1000, () => ({}));
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const toClients: ZeekEvent[] = [];
  const toAgent = (instance: string, event: ZeekEvent, reqid: string): boolean => {
    if (!instances.session(instance)) return false;
    sent.push({ instance, event, reqid });
    return true;
  };
  const gather = new Gatherer(new RequestTracker(options.requestTimeoutMs, clock), log, toAgent);
  const ctx: ControllerContext = {
    options, log, store, instances, gather, states: new ConfigStates(store, log),
    toClients: (event) => { toClients.push(event); },
    respond: (spec: RequestKind, reqid: string, results: readonly Result[], to: string) => {
      assert.equal(to, 'client-1', 'a response goes to the session of the client that asked');
      toClients.push(spec.respond(reqid, results));
    },
    toAgent,
  };
  const deployer = new Deployer(ctx);
  /** An agent says hello (the controller would do this on notify_agent_hello). */
  const hello = (name: string): void => {
    const peer: PeerInfo = { id: `peer-${name}`, direction: 'inbound', remoteAddress: '127.0.0.1', remotePort: 1, subscriptions: [] };
    instances.hello(name, `agent-id-${name}`, peer, true);
    deployer.helloFrom(name);
  };
  /** The last request of `spec`'s kind sent to `instance`, answered with `results`. */
  const answer = (instance: string, spec: RequestKind, results: (reqid: string) => Result[]): ZeekEvent => {
    const s = [...sent].reverse().find((x) => x.instance === instance && x.event.name === spec.requestName);
    assert.ok(s, `a ${spec.kind} request went to ${instance}`);
    assert.equal(gather.answered(s.reqid, results(s.reqid), `${spec.kind}_response`), true);
    return s.event;
  };
  const responses = (): Result[][] => toClients.filter((e) => e.name === ControllerApi.deploy.responseName).map((e) => ControllerApi.deploy.decodeResponse(e)[1]);
  const close = async (): Promise<void> => { store.close(); log.close(); await endpoint.close(); };
  return { ctx, clock, sent, toClients, deployer, hello, answer, responses, store, close };
}

/** A test with a fresh Deployer that is closed afterwards, whatever happens. */
function deployerTest(name: string, body: (t: ReturnType<typeof setup>) => void): void {
  test(name, async () => {
    const t = setup();
    try {
      body(t);
    } finally {
      await t.close();
    }
  });
}

describe('Deployer', () => {
  deployerTest('welcomes the instance, then deploys; the client gets the agents\' Results and the configuration id; the history has it', (t) => {
    t.hello('agent-a');
    t.deployer.deploy('d1', config('c1', ['agent-a']), ASKED);
    assert.deepEqual(t.sent.map((s) => s.event.name), [AgentApi.agentWelcome.requestName], 'nothing is deployed before the welcome is answered');
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id, { instance: 'agent-a' })]);
    const request = t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { instance: 'agent-a', node: 'node-0' })]);
    const [, sentConfig, force] = AgentApi.deploy.request.decode(request);
    assert.equal(sentConfig.id, 'c1');
    assert.equal(force, false);
    const [results] = t.responses();
    // The agents' Results go to the client unchanged (as the original's), then the verdict.
    assert.deepEqual(results!.map((r) => [r.success, r.node ?? null]), [[true, 'node-0'], [true, null]]);
    assert.equal(results!.at(-1)!.reqid, 'd1');
    assert.deepEqual(results!.at(-1)!.data, { type: 'string', value: 'c1' });
    assert.equal(t.ctx.states.deployed?.id, 'c1');
    assert.deepEqual(t.store.deployments().map((d) => [d.id, d.configId, d.outcome]), [['d1', 'c1', 'success']]);
    assert.ok(t.toClients.some((e) => e.name === ControllerApi.notifyClusterReady.name), 'every node RUNNING: the cluster is ready');
  });

  deployerTest('an instance that never checks in: did not check in, then request timed out; nothing is deployed', (t) => {
    t.deployer.deploy('d1', config('c1', ['agent-a', 'agent-b']), ASKED);
    t.hello('agent-a');
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    t.clock.advance(999);
    assert.deepEqual(t.responses(), []);
    t.clock.advance(1);
    assert.deepEqual(t.responses()[0]!.map((r) => r.error), ['instance agent-b did not check in', 'request timed out']);
    assert.equal(t.ctx.states.deployed, undefined);
    assert.equal(t.sent.filter((s) => s.event.name === AgentApi.deploy.requestName).length, 0);
    assert.deepEqual(t.store.deployments().map((d) => d.outcome), ['timeout']);
  });

  deployerTest('one deployment at a time; a reused reqid is refused', (t) => {
    t.hello('agent-a');
    t.deployer.deploy('d1', config('c1', ['agent-a']), ASKED);
    t.deployer.deploy('d2', config('c2', ['agent-a']), ASKED);
    t.deployer.deploy('d1', config('c2', ['agent-a']), ASKED);
    t.deployer.deploy('d3', undefined, ASKED);
    assert.deepEqual(t.responses().map((rs) => rs.map((r) => r.error)), [
      ['earlier deployment d1 still pending'], ['earlier deployment d1 still pending'], ['no configuration available to deploy'],
    ]);
  });

  deployerTest('an agent of the deployed configuration that comes back is welcomed and brought back; instances dropped go to standby', (t) => {
    t.hello('agent-a');
    t.hello('agent-old');
    t.deployer.deploy('d1', config('c1', ['agent-a']), ASKED);
    assert.ok(t.sent.some((s) => s.instance === 'agent-old' && s.event.name === AgentApi.agentStandby.requestName));
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);

    // The agent restarts: its session is replaced and it says hello again.
    t.ctx.instances.lost('peer-agent-a');
    t.ctx.gather.instanceLost('agent-a');
    t.hello('agent-a');
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    const back = t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    const [, again, force] = AgentApi.deploy.request.decode(back);
    assert.deepEqual([again.id, force], ['c1', false], 'the deployed configuration, not forced: a no-op for an agent that runs it');
    assert.equal(t.responses().length, 1, 'no client waits for a bring-back');
    assert.deepEqual(t.store.deployments().map((d) => [d.configId, d.outcome]), [['c1', 'success'], ['c1', 'success']], 'the bring-back is in the history');
  });

  deployerTest('duplicate welcome answers do not deploy twice', (t) => {
    t.deployer.deploy('d1', config('c1', ['agent-a']), ASKED);
    t.hello('agent-a');
    t.hello('agent-a');
    const welcomes = t.sent.filter((s) => s.event.name === AgentApi.agentWelcome.requestName);
    assert.equal(welcomes.length, 2);
    for (const w of welcomes) t.ctx.gather.answered(w.reqid, [success(w.reqid)], 'agent_welcome_response');
    assert.equal(t.sent.filter((s) => s.event.name === AgentApi.deploy.requestName).length, 1);
    t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    assert.equal(t.sent.filter((s) => s.event.name === AgentApi.deploy.requestName).length, 1, 'and no bring-back after the deployment either');
    assert.equal(t.responses().length, 1);
  });

  deployerTest('a bring-back leaves the nodes an operator stopped stopped; a new deployment starts them all', (t) => {
    t.hello('agent-a');
    t.deployer.deploy('d1', config('c1', ['agent-a']), ASKED);
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    t.store.setStopped(['node-0'], true);
    t.ctx.instances.lost('peer-agent-a');
    t.ctx.gather.instanceLost('agent-a');
    t.hello('agent-a');
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    const back = t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    assert.deepEqual(AgentApi.deploy.request.decode(back)[3], ['node-0']);
    assert.deepEqual(t.store.deployments().map((d) => [d.kind, d.who]), [['bring-back', 'controller: agent-a came back'], ['deploy', undefined]]);

    t.deployer.deploy('d2', config('c2', ['agent-a']), ASKED);
    const fresh = t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    assert.deepEqual(AgentApi.deploy.request.decode(fresh)[3], []);
    assert.deepEqual(t.store.stoppedNodes(), [], 'a new deployed configuration forgets what was stopped');
  });

  deployerTest('rollback on failure: a deploy that does not come up is followed by the last good configuration; the client hears both', (t) => {
    t.hello('agent-a');
    const how = { answer: ControllerApi.deployWithRollback, kind: 'deploy' as const, who: 'client x', client: 'client-1', rollbackOnFailure: true };
    t.deployer.deploy('d1', config('c1', ['agent-a']), how);
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { node: 'node-0' })]);
    t.deployer.deploy('d2', config('c2', ['agent-a']), how);
    t.answer('agent-a', AgentApi.deploy, (id) => [failure(id, 'node node-0 exited with code 1 before checking in', { instance: 'agent-a', node: 'node-0' })]);
    const again = t.answer('agent-a', AgentApi.deploy, (id) => [success(id, { instance: 'agent-a', node: 'node-0' })]);
    assert.equal(AgentApi.deploy.request.decode(again)[1].id, 'c1', 'the last good configuration went out again');
    const answers = t.toClients.filter((e) => e.name === ControllerApi.deployWithRollback.responseName).map((e) => ControllerApi.deployWithRollback.decodeResponse(e));
    assert.deepEqual(answers.map(([reqid]) => reqid), ['d1', 'd2'], 'one answer per client request');
    const [, results] = answers[1]!;
    assert.equal(results[0]!.error, 'node node-0 exited with code 1 before checking in');
    assert.match(results.at(-1)!.error!, /^deployment d2 of c2 did not come up; rolled back to configuration c1 \(last good deployment d1\) as deployment [0-9a-f-]+: every node came up$/);
    assert.equal(t.ctx.states.deployed?.id, 'c1');
    assert.deepEqual(t.store.deployments().map((d) => [d.configId, d.kind, d.outcome]), [['c1', 'auto-rollback', 'success'], ['c2', 'deploy', 'failure'], ['c1', 'deploy', 'success']]);
  });

  deployerTest('rollback on failure with nothing good before: says so, and leaves the failed deployment', (t) => {
    t.hello('agent-a');
    t.deployer.deploy('d1', config('c1', ['agent-a']), { answer: ControllerApi.deployWithRollback, kind: 'deploy', client: 'client-1', rollbackOnFailure: true });
    t.answer('agent-a', AgentApi.agentWelcome, (id) => [success(id)]);
    t.answer('agent-a', AgentApi.deploy, (id) => [failure(id, 'boom', { instance: 'agent-a', node: 'node-0' })]);
    const [, results] = ControllerApi.deployWithRollback.decodeResponse(t.toClients.find((e) => e.name === ControllerApi.deployWithRollback.responseName)!);
    assert.equal(results.at(-1)!.error, 'deployment d1 did not come up, and there is no earlier good deployment to roll back to');
    assert.equal(t.sent.filter((s) => s.event.name === AgentApi.deploy.requestName).length, 1);
  });

  deployerTest('rolling restart: the next node is asked only once the previous one answered RUNNING; a failure stops the roll', (t) => {
    t.hello('agent-a');
    t.hello('agent-b');
    const two: Configuration = {
      id: 'c1', instances: [{ name: 'agent-a', host: '127.0.0.1' }, { name: 'agent-b', host: '127.0.0.1' }],
      nodes: [
        { name: 'manager', instance: 'agent-a', role: 'MANAGER', state: 'RUNNING', env: {} },
        ...['w-10', 'w-2', 'w-1', 'w-3'].map((name, i) => ({ name, instance: i % 2 ? 'agent-b' : 'agent-a', role: 'WORKER' as const, state: 'RUNNING' as const, env: {} })),
      ],
    };
    t.deployer.deploy('d1', two, ASKED);
    for (const a of ['agent-a', 'agent-b']) t.answer(a, AgentApi.agentWelcome, (id) => [success(id)]);
    for (const a of ['agent-a', 'agent-b']) t.answer(a, AgentApi.deploy, (id) => [success(id)]);
    t.store.setStopped(['w-3'], true);
    const restarts = (): string[] => t.sent.filter((s) => s.event.name === AgentApi.restart.requestName).map((s) => AgentApi.restart.request.decode(s.event)[1].join());
    rollingRestart(t.ctx, 'r1', 'client-1', []);
    assert.deepEqual(restarts(), ['w-1'], 'one at a time, in name order, numbers by value; the stopped w-3 and the manager are left out');
    rollingRestart(t.ctx, 'r2', 'client-1', ['w-10']);
    const refused = t.toClients.find((e) => e.name === ControllerApi.rollingRestart.responseName)!;
    assert.deepEqual(ControllerApi.rollingRestart.decodeResponse(refused), ['r2', [failure('r2', 'rolling restart r1 still in progress')]]);
    t.answer('agent-a', AgentApi.restart, (id) => [success(id, { instance: 'agent-a', node: 'w-1' })]);
    assert.deepEqual(restarts(), ['w-1', 'w-2']);
    t.answer('agent-b', AgentApi.restart, (id) => [failure(id, 'node w-2 did not check in within 5000 ms', { instance: 'agent-b', node: 'w-2' })]);
    assert.deepEqual(restarts(), ['w-1', 'w-2'], 'w-10 is not touched');
    const [, results] = ControllerApi.rollingRestart.decodeResponse(t.toClients.filter((e) => e.name === ControllerApi.rollingRestart.responseName)[1]!);
    assert.deepEqual(results.map((r) => [r.node, r.success]), [['w-1', true], ['w-2', false], ['w-10', false]]);
    assert.equal(results[2]!.error, 'node w-10 not restarted: the rolling restart stopped because w-2 did not come back');
  });
});
