/**
 * The dashboard's rules, without a browser: what is stale, what is a
 * problem and comes first, and a worker's packet and drop rates.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Configuration, Node, NodeStatus } from '../../src/management/index.js';
import {
  STALE_MS, applyChange, applyDeployed, applyInstanceChange, applyInstances, applyNodeStatuses, emptyModel, nodeRows, problems, type Model,
} from '../../src/dashboard/model.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const node = (name: string, role: Node['role']): Node => ({ name, instance: 'agent-a', role, state: 'RUNNING', env: {} });
const config: Configuration = {
  id: 'c1', instances: [{ name: 'agent-a', host: '0.0.0.0' }],
  nodes: [node('manager', 'MANAGER'), node('logger', 'LOGGER'), node('worker-01', 'WORKER'), node('worker-02', 'WORKER')],
};
const status = (name: string, role: Node['role'], extra: Partial<NodeStatus> = {}): NodeStatus =>
  ({ node: name, state: 'RUNNING', mgmtRole: 'NONE', clusterRole: role, pid: 100, ...extra });
const capture = (received: number, dropped: number, at: number): Partial<NodeStatus> =>
  ({ packetsReceived: received, packetsDropped: dropped, captureTime: new Date(at).toISOString() });

function live(): Model {
  const m = emptyModel();
  m.link = 'open';
  applyInstances(m, [{ name: 'agent-a', host: '127.0.0.1' }]);
  applyDeployed(m, config);
  return m;
}

const report = (m: Model, statuses: NodeStatus[], at: number): void =>
  applyNodeStatuses(m, [{ instance: 'agent-a', statuses: [status('agent-a', 'NONE', { mgmtRole: 'AGENT' }), ...statuses] }], [], at);

const allRunning = (extra: Record<string, Partial<NodeStatus>> = {}): NodeStatus[] =>
  config.nodes.map((n) => status(n.name, n.role, extra[n.name] ?? {}));

describe('dashboard model', () => {
  test('deployed nodes are shown before any report, as unknown and stale; reported ones are fresh', () => {
    const m = live();
    assert.deepEqual(nodeRows(m, T0).map((r) => [r.name, r.state, r.stale]),
      [['manager', 'UNKNOWN', true], ['logger', 'UNKNOWN', true], ['worker-01', 'UNKNOWN', true], ['worker-02', 'UNKNOWN', true]]);
    report(m, allRunning(), T0);
    assert.deepEqual(nodeRows(m, T0 + 1000).map((r) => [r.name, r.severity]), [['manager', 'ok'], ['logger', 'ok'], ['worker-01', 'ok'], ['worker-02', 'ok']]);
    assert.equal(m.instances.get('agent-a')!.agent?.mgmtRole, 'AGENT', 'the agent\'s own status goes with its instance');
    assert.deepEqual(problems(m, nodeRows(m, T0 + 1000), T0 + 1000), []);
  });

  test('stale: a status older than STALE_MS, an instance that went away, or a lost controller', () => {
    const m = live();
    report(m, allRunning(), T0);
    assert.equal(nodeRows(m, T0 + STALE_MS).every((r) => !r.stale), true);
    assert.equal(nodeRows(m, T0 + STALE_MS + 1).every((r) => r.stale), true);
    applyInstanceChange(m, 'agent-a', false);
    const rows = nodeRows(m, T0 + 10);
    assert.equal(rows.every((r) => r.stale && r.severity === 'stale'), true);
    assert.deepEqual(problems(m, rows, T0 + 10), ['instance agent-a is not connected: its nodes are not reporting']);
    applyInstanceChange(m, 'agent-a', true);
    assert.equal(nodeRows(m, T0 + 10).every((r) => !r.stale), true);
    m.link = 'closed';
    m.linkWhy = 'the controller cannot be reached';
    assert.equal(nodeRows(m, T0 + 10).every((r) => r.stale), true);
    assert.match(problems(m, nodeRows(m, T0 + 10), T0 + 10)[0]!, /^controller unreachable \(the controller cannot be reached\)/);
  });

  test('a node the agent no longer reports keeps its last status and turns stale; one that is not deployed is forgotten', () => {
    const m = live();
    report(m, [...allRunning(), status('extra', 'PROXY')], T0);
    assert.ok(m.nodes.has('extra'));
    report(m, allRunning().filter((s) => s.node !== 'worker-02'), T0 + STALE_MS);
    assert.equal(m.nodes.has('extra'), false);
    const w2 = nodeRows(m, T0 + STALE_MS + 1).find((r) => r.name === 'worker-02')!;
    assert.deepEqual([w2.state, w2.status?.pid, w2.stale], ['RUNNING', 100, true]);
  });

  test('problems come first: failed, stale, changing, overloaded; then by role and name', () => {
    const m = live();
    report(m, [
      status('manager', 'MANAGER'), status('logger', 'LOGGER', { state: 'PENDING' }),
      status('worker-01', 'WORKER', { ...capture(1000, 0, T0 - 5000) }), status('worker-02', 'WORKER', { ...capture(1000, 0, T0 - 5000) }),
    ], T0 - 5000);
    report(m, [
      status('manager', 'MANAGER'), status('logger', 'LOGGER', { state: 'PENDING' }),
      status('worker-01', 'WORKER', { ...capture(51_000, 10, T0) }), status('worker-02', 'WORKER', { ...capture(41_000, 1000, T0) }),
    ], T0);
    applyChange(m, 'agent-a', { name: 'manager', role: 'MANAGER' }, 'CRASHED');
    const rows = nodeRows(m, T0);
    assert.deepEqual(rows.map((r) => [r.name, r.severity]), [['manager', 'failed'], ['logger', 'transient'], ['worker-02', 'overloaded'], ['worker-01', 'ok']]);
    const w2 = rows.find((r) => r.name === 'worker-02')!.capture!;
    assert.equal(w2.pps, 8000, '40000 packets in 5 s');
    assert.equal(w2.dropPercent.toFixed(2), (1000 * 100 / 41_000).toFixed(2), 'over the last interval');
    assert.deepEqual(problems(m, rows, T0), ['manager is CRASHED', 'logger is PENDING', 'worker-02 drops 2.44% of packets']);
  });

  test('capture: one sample gives the share since the start; another process or counters going back start over', () => {
    const m = live();
    report(m, [status('worker-01', 'WORKER', { ...capture(990, 10, T0) })], T0);
    assert.deepEqual(nodeRows(m, T0).find((r) => r.name === 'worker-01')!.capture, { received: 990, dropped: 10, dropPercent: 1 });
    report(m, [status('worker-01', 'WORKER', { pid: 101, ...capture(500, 0, T0 + 5000) })], T0 + 5000);
    const restarted = nodeRows(m, T0 + 5000).find((r) => r.name === 'worker-01')!.capture!;
    assert.deepEqual([restarted.received, restarted.pps], [500, undefined]);
    report(m, [status('worker-01', 'WORKER', { pid: 101, ...capture(500, 0, T0 + 5000) })], T0 + 6000);
    assert.equal(nodeRows(m, T0 + 6000).find((r) => r.name === 'worker-01')!.capture!.pps, undefined, 'the same reading again is not an interval');
  });
});
