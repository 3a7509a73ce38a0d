import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerMetrics, serviceDiscovery } from '../../src/controller/metrics.js';
import type { Configuration, Node } from '../../src/management/index.js';

const node = (name: string, instance: string, role: Node['role'], metrics?: number): Node =>
  ({ name, instance, role, state: 'RUNNING', env: {}, ...(metrics ? { metricsPort: { number: metrics, protocol: 'tcp' } } : {}) });

describe('Prometheus', () => {
  test('service discovery: one target per node with a metrics port, at its instance address, labelled', () => {
    const config: Configuration = {
      id: 'c',
      instances: [{ name: 'a', host: '10.0.0.1' }, { name: 'b', host: '0.0.0.0' }, { name: 'c', host: 'fe80::1' }, { name: 'd', host: '0.0.0.0' }],
      nodes: [node('w2', 'b', 'WORKER', 9002), node('m', 'a', 'MANAGER', 9000), node('l', 'a', 'LOGGER'), node('p', 'c', 'PROXY', 9003), node('w3', 'd', 'WORKER', 9004)],
    };
    assert.deepEqual(serviceDiscovery(config, [{ name: 'b', host: '10.0.0.2' }]), [
      { targets: ['10.0.0.1:9000'], labels: { node: 'm', role: 'manager', instance: 'a' } },
      { targets: ['[fe80::1]:9003'], labels: { node: 'p', role: 'proxy', instance: 'c' } },
      { targets: ['10.0.0.2:9002'], labels: { node: 'w2', role: 'worker', instance: 'b' } },
    ]);
    assert.deepEqual(serviceDiscovery(undefined, []), []);
  });

  test('metrics: requests by kind and outcome, latency histogram, restarts and crashes per node, labels escaped', () => {
    let t = 0n;
    const m = new ControllerMetrics(() => t);
    m.started('get_nodes', 'r1');
    t = 3_000_000n; // 3 ms
    m.finished('get_nodes', 'r1', true);
    m.started('deploy', 'r2');
    t += 2_000_000_000n;
    m.finished('deploy', 'r2', false);
    m.nodeChange('agent-"x"', 'w1', 'RUNNING', 'CRASHED');
    m.nodeChange('agent-"x"', 'w1', 'CRASHED', 'PENDING');
    m.nodeChange('agent-"x"', 'w1', 'PENDING', 'RUNNING');
    m.nodeChange('agent-"x"', 'w1', 'RUNNING', 'PENDING');
    m.nodeChange('agent-"x"', 'w1', 'PENDING', 'PENDING');
    const text = m.render(2);
    const line = (prefix: string): string | undefined => text.split('\n').find((l) => l.startsWith(prefix));
    assert.equal(line('zeek_mgmt_requests_total{request="get_nodes",outcome="success"}'), 'zeek_mgmt_requests_total{request="get_nodes",outcome="success"} 1');
    assert.equal(line('zeek_mgmt_requests_total{request="deploy",outcome="failure"}'), 'zeek_mgmt_requests_total{request="deploy",outcome="failure"} 1');
    assert.equal(line('zeek_mgmt_request_duration_seconds_bucket{request="get_nodes",le="0.001"}'), 'zeek_mgmt_request_duration_seconds_bucket{request="get_nodes",le="0.001"} 0');
    assert.equal(line('zeek_mgmt_request_duration_seconds_bucket{request="get_nodes",le="0.005"}'), 'zeek_mgmt_request_duration_seconds_bucket{request="get_nodes",le="0.005"} 1');
    assert.equal(line('zeek_mgmt_request_duration_seconds_bucket{request="deploy",le="1"}'), 'zeek_mgmt_request_duration_seconds_bucket{request="deploy",le="1"} 0');
    assert.equal(line('zeek_mgmt_request_duration_seconds_bucket{request="deploy",le="+Inf"}'), 'zeek_mgmt_request_duration_seconds_bucket{request="deploy",le="+Inf"} 1');
    assert.equal(line('zeek_mgmt_request_duration_seconds_sum{request="deploy"}'), 'zeek_mgmt_request_duration_seconds_sum{request="deploy"} 2');
    assert.equal(line('zeek_mgmt_agents_connected'), 'zeek_mgmt_agents_connected 2');
    assert.equal(line('zeek_mgmt_node_restarts_total{'), 'zeek_mgmt_node_restarts_total{node="w1",instance="agent-\\"x\\""} 2');
    assert.equal(line('zeek_mgmt_node_crashes_total{'), 'zeek_mgmt_node_crashes_total{node="w1",instance="agent-\\"x\\""} 1');
    assert.match(text, /^# HELP zeek_mgmt_requests_total .*\n# TYPE zeek_mgmt_requests_total counter\n/);
  });
});
