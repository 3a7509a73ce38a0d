/**
 * Gatherer on a manual clock, with agents played by the test: fan-out, answers
 * matched by child id, lost agents, deadlines, and a completion that runs once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentApi, RequestTracker, failure, success, type Result } from '../../src/management/index.js';
import type { Logger, ZeekEvent } from '../../src/protocol/index.js';
import { Gatherer, type Completion, type GatherOptions } from '../../src/controller/gather.js';
import { ManualClock } from '../helpers/clock.js';

interface Sent { instance: string; event: ZeekEvent; reqid: string }

function setup(connected: string[] = ['agent-a', 'agent-b']) {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const warnings: string[] = [];
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: (_o, msg) => warnings.push(msg ?? ''), error: () => undefined };
  const gather = new Gatherer(new RequestTracker(1000, clock), log, (instance, event, reqid) => {
    if (!connected.includes(instance)) return false;
    sent.push({ instance, event, reqid });
    return true;
  });
  const done: { results: Result[]; completion: Completion }[] = [];
  const start = (options: Partial<GatherOptions> = {}) =>
    gather.start({ kind: 'get_nodes', onComplete: (results, completion) => done.push({ results, completion }), ...options });
  return { clock, sent, warnings, gather, done, start };
}

const childOf = (sent: Sent[], instance: string): string => sent.find((s) => s.instance === instance)!.reqid;

describe('Gatherer', () => {
  test('one child request per instance; completes once every instance answered, with Results in arrival order', () => {
    const { sent, gather, done, start } = setup();
    const req = start({ id: 'client-1' });
    gather.fanOut(req, ['agent-a', 'agent-b'], AgentApi.restart, ['worker-1']);
    assert.deepEqual(sent.map((s) => s.instance), ['agent-a', 'agent-b']);
    assert.deepEqual(sent[0]!.event, AgentApi.restart.request.make(sent[0]!.reqid, ['worker-1']), 'the request carries the child id and the arguments');
    assert.notEqual(sent[0]!.reqid, 'client-1', 'children have their own ids');
    assert.ok(gather.pending('client-1'));

    assert.equal(gather.answered(childOf(sent, 'agent-b'), [success('x', { node: 'b1' })], 'restart_response'), true);
    assert.equal(done.length, 0, 'still waiting for agent-a');
    gather.answered(childOf(sent, 'agent-a'), [success('y', { node: 'a1' }), success('y', { node: 'a2' })], 'restart_response');
    assert.equal(done.length, 1);
    assert.deepEqual(done[0]!.results.map((r) => r.node), ['b1', 'a1', 'a2']);
    assert.equal(done[0]!.completion, 'answered');
    assert.equal(gather.pending('client-1'), false);
  });

  test('an answer from another instance than the one asked is ignored; the gather still waits for the real one', () => {
    const { sent, gather, done, warnings, start } = setup();
    gather.fanOut(start({ id: 'forge' }), ['agent-a'], AgentApi.getNodes);
    assert.equal(gather.answered(childOf(sent, 'agent-a'), [success('x', { node: 'forged' })], 'get_nodes_response', 'agent-b'), false);
    assert.equal(done.length, 0);
    assert.match(warnings.at(-1)!, /from agent-b: it was sent to agent-a/);
    assert.equal(gather.answered(childOf(sent, 'agent-a'), [success('x', { node: 'real' })], 'get_nodes_response', 'agent-a'), true);
    assert.deepEqual(done[0]!.results.map((r) => r.node), ['real']);
  });

  test('an agent speaks for its own instance only: a Result naming another instance is put under the one that answered', () => {
    const { sent, gather, done, start } = setup();
    gather.fanOut(start({ id: 'names' }), ['agent-a'], AgentApi.getNodes);
    gather.answered(childOf(sent, 'agent-a'), [success('x', { instance: 'agent-b', node: 'm' }), success('x', { instance: 'agent-a', node: 'n' }), success('x', { node: 'o' })],
      'get_nodes_response', 'agent-a');
    assert.deepEqual(done[0]!.results.map((r) => [r.instance, r.node]), [['agent-a', 'm'], ['agent-a', 'n'], [undefined, 'o']]);
  });

  test('an instance without a session fails at once; nobody to ask completes at once', () => {
    const { sent, gather, done, start } = setup(['agent-a']);
    gather.fanOut(start({ id: 'r1', results: [failure('r1', 'unknown cluster node', { node: 'x' })] }), ['agent-a', 'agent-z'], AgentApi.getNodes);
    assert.deepEqual(sent.map((s) => s.instance), ['agent-a']);
    assert.equal(done.length, 0);
    gather.answered(childOf(sent, 'agent-a'), [success('c')], 'get_nodes_response');
    assert.deepEqual(done[0]!.results.map((r) => [r.success, r.error ?? r.node ?? '']), [
      [false, 'unknown cluster node'], [false, 'instance agent-z is not connected'], [true, ''],
    ]);
    gather.fanOut(start({ id: 'r2' }), [], AgentApi.getNodes);
    assert.deepEqual(done[1], { results: [], completion: 'answered' });
  });

  test('an agent that goes away fails its part now, not at the deadline', () => {
    const { sent, gather, done, start } = setup();
    gather.fanOut(start({ id: 'r1' }), ['agent-a', 'agent-b'], AgentApi.getNodes);
    gather.answered(childOf(sent, 'agent-a'), [success('c', { instance: 'agent-a' })], 'get_nodes_response');
    gather.instanceLost('agent-b');
    assert.equal(done.length, 1);
    assert.deepEqual(done[0]!.results.map((r) => [r.success, r.instance, r.error]), [[true, 'agent-a', undefined], [false, 'agent-b', 'instance agent-b disconnected']]);
  });

  test('at the deadline: what arrived, the deadline\'s own Results, then request timed out; a late answer is dropped with a warning', () => {
    const { clock, sent, warnings, gather, done, start } = setup();
    const req = start({ id: 'r1', onDeadline: () => [failure('r1', 'instance agent-b did not check in')] });
    gather.fanOut(req, ['agent-a', 'agent-b'], AgentApi.getNodes);
    gather.answered(childOf(sent, 'agent-a'), [success('c')], 'get_nodes_response');
    clock.advance(999);
    assert.equal(done.length, 0);
    clock.advance(1);
    assert.equal(done.length, 1);
    assert.equal(done[0]!.completion, 'timed-out');
    assert.deepEqual(done[0]!.results.map((r) => r.error ?? 'ok'), ['ok', 'instance agent-b did not check in', 'request timed out']);
    assert.equal(gather.answered(childOf(sent, 'agent-b'), [success('c')], 'get_nodes_response'), false);
    assert.match(warnings.at(-1)!, /^ignoring get_nodes_response .*: no such request pending/);
    assert.equal(done.length, 1, 'the completion ran once');
  });

  test('finish() completes now and only once; answers after it are dropped', () => {
    const { clock, sent, gather, done, start } = setup();
    const req = start({ id: 'r1' });
    gather.fanOut(req, ['agent-a'], AgentApi.getNodes);
    gather.finish(req, [failure('r1', 'given up')]);
    gather.finish(req);
    clock.advance(5000);
    assert.equal(gather.answered(childOf(sent, 'agent-a'), [success('c')], 'get_nodes_response'), false);
    assert.deepEqual(done.map((d) => [d.completion, d.results.map((r) => r.error)]), [['answered', ['given up']]]);
  });
});
