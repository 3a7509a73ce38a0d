import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Configuration, Instance, Node } from '../../src/management/index.js';
import { assignBackendPorts, assignBrokerPorts, assignMetricsPorts } from '../../src/controller/ports.js';
import { validateConfiguration } from '../../src/controller/validate.js';
import { resolveControllerOptions, type ControllerFlags } from '../../src/controller/config.js';

const tcp = (number: number) => ({ number, protocol: 'tcp' as const });
const inst = (name: string, host = '127.0.0.1', listen?: number): Instance => ({ name, host, ...(listen ? { listenPort: tcp(listen) } : {}) });
const node = (name: string, role: Node['role'], extra: Partial<Node> = {}): Node =>
  ({ name, instance: 'agent-testbox', role, state: 'RUNNING', env: {}, ...(role === 'WORKER' ? { interface: 'lo' } : {}), ...extra });

/** doc/frameworks/management/mini-config.ini, as zeek-client stages it for agent-testbox. */
const mini = (): Configuration => ({
  id: 'mini',
  instances: [inst('agent-testbox')],
  nodes: [node('worker-02', 'WORKER', { interface: 'eth0' }), node('manager', 'MANAGER'), node('worker-01', 'WORKER'), node('logger', 'LOGGER')],
});

const ports = (c: Configuration) => Object.fromEntries(c.nodes.map((n) => [n.name, [n.port?.number, n.metricsPort?.number]]));
const ctx = { controllerPort: 2150, autoAssignPorts: true };

describe('port assignment', () => {
  test('the mini configuration gets manager 2200, logger 2201 and metrics ports from 9000, as the documentation shows', () => {
    const ready = assignMetricsPorts(assignBrokerPorts(mini(), 2200), 9000);
    assert.deepEqual(ports(ready), {
      manager: [2200, 9000], logger: [2201, 9001], 'worker-01': [undefined, 9002], 'worker-02': [undefined, 9003],
    });
  });

  test('explicit ports are kept and skipped; agent listen ports and reserved controller ports are avoided', () => {
    const c: Configuration = {
      id: 'x',
      instances: [inst('agent-a', '10.0.0.1', 2201), inst('agent-b', '10.0.0.2')],
      nodes: [
        node('manager', 'MANAGER', { instance: 'agent-a' }),
        node('logger-1', 'LOGGER', { instance: 'agent-a', port: tcp(2200) }),
        node('logger-2', 'LOGGER', { instance: 'agent-a' }),
        node('proxy', 'PROXY', { instance: 'agent-b', metricsPort: tcp(9000) }),
        node('worker', 'WORKER', { instance: 'agent-b' }),
      ],
    };
    const ready = assignMetricsPorts(assignBrokerPorts(c, 2200, [2203]), 9000, [9001]);
    assert.deepEqual(ports(ready), {
      manager: [2202, 9000], 'logger-1': [2200, 9002], 'logger-2': [2204, 9003], proxy: [2205, 9000], worker: [undefined, 9002],
    });
  });

  test('Broker ports count across instances: instance, then role, then name', () => {
    const c: Configuration = {
      id: 'x',
      instances: [inst('b', '10.0.0.2'), inst('a', '10.0.0.1')],
      nodes: [node('p-b', 'PROXY', { instance: 'b' }), node('m', 'MANAGER', { instance: 'b' }), node('p2', 'PROXY', { instance: 'a' }), node('p1', 'PROXY', { instance: 'a' }), node('l', 'LOGGER', { instance: 'a' })],
    };
    const ready = assignBrokerPorts(c, 3000);
    assert.deepEqual(ports(ready), { 'p-b': [3004, undefined], m: [3003, undefined], p2: [3002, undefined], p1: [3001, undefined], l: [3000, undefined] });
  });

  test('assignment leaves the input untouched', () => {
    const c = mini();
    const before = structuredClone(c);
    assignMetricsPorts(assignBrokerPorts(c, 2200), 9000);
    assert.deepEqual(c, before);
  });
});

describe('validation', () => {
  test('the mini configuration is valid', () => {
    assert.deepEqual(validateConfiguration(mini(), ctx), []);
  });

  test('every problem is reported once, sorted, in the original wording where it has one', () => {
    const c: Configuration = {
      id: 'bad',
      instances: [inst('agent-a', '10.0.0.1', 2151), inst('agent-a', '10.0.0.1'), inst('dup', '10.0.0.3'), inst('bad host', 'nowhere')],
      nodes: [
        node('manager', 'MANAGER', { instance: 'agent-a', port: tcp(2151) }),
        node('manager', 'LOGGER', { instance: 'agent-a', port: tcp(2300) }),
        node('proxy', 'PROXY', { instance: 'agent-a', port: tcp(2300) }),
        node('dup', 'PROXY', { instance: 'agent-a', port: tcp(2150) }),
        node('w1', 'WORKER', { instance: 'agent-x', interface: undefined }),
        node('w2', 'WORKER', { instance: 'agent-a', interface: ' ' }),
        node('none', 'NONE', { instance: 'agent-a', port: tcp(2400), metricsPort: tcp(2400) }),
        node('neg', 'WORKER', { instance: 'agent-a', cpuAffinity: -1, env: { 'A-B': '1' } }),
        node('udp', 'LOGGER', { instance: 'agent-a', port: { number: 2500, protocol: 'udp' }, metricsPort: tcp(0) }),
      ],
    };
    const errors = validateConfiguration(c, ctx);
    const expected = [
      "instance 'bad host' has an invalid address 'nowhere'",
      "instance name 'bad host' is not usable (letters, digits, '.', '_', '-', at most 128)",
      'multiple instances named \'agent-a\'',
      'multiple nodes named \'manager\'',
      "multiple nodes on instance 'agent-a' using port 2300/tcp",
      'node and instance names collide: dup',
      "node 'dup' port 2150/tcp conflicts with controller port",
      "node 'manager' port 2151/tcp conflicts with agent port on instance 'agent-a'",
      "node 'neg' has a negative cpu_affinity -1",
      "node 'neg' has an invalid environment variable name 'A-B'",
      "node 'none' has no cluster role",
      "node 'none' metrics port 2400/tcp equals its Broker port",
      "node 'udp' has metrics port 0",
      "node 'udp' port 2500/udp is not a TCP port",
      "node 'w1' has undeclared instance name 'agent-x'",
      "node 'w2' has an empty interface name",
      "worker 'w1' has no interface to sniff",
    ].sort();
    assert.deepEqual(errors, expected);
    assert.deepEqual(errors, [...errors].sort());
  });

  test('CPU pinning, node options and AF_PACKET fanout groups (ours)', () => {
    const opt = (name: string, value: string): { name: string; value: string } => ({ name, value });
    const c: Configuration = {
      id: 'lb',
      instances: [inst('agent-a', '10.0.0.1'), inst('agent-b', '10.0.0.2')],
      nodes: [
        node('manager', 'MANAGER', { instance: 'agent-a', cpuAffinity: 1 }),
        node('w1', 'WORKER', { instance: 'agent-a', interface: 'af_packet::eth0', cpuAffinity: 1, options: [opt('AF_Packet::fanout_id', '23')] }),
        node('w2', 'WORKER', { instance: 'agent-a', interface: 'af_packet::eth1', cpuAffinity: 2, options: [opt('AF_Packet::fanout_id', '23')] }),
        node('w3', 'WORKER', { instance: 'agent-b', interface: 'af_packet::eth1', cpuAffinity: 1, options: [opt('AF_Packet::fanout_id', '23')] }),
        node('w4', 'WORKER', { instance: 'agent-b', interface: 'lo', options: [opt('Site::local_nets', '{}'), opt('AF_Packet::fanout_mode', 'FANOUT_HASH; print 1')] }),
      ],
    };
    assert.deepEqual(validateConfiguration(c, ctx), [
      "fanout group 23 on instance 'agent-a' is used for both af_packet::eth0 and af_packet::eth1; give each interface its own af_packet_fanout_id",
      "node 'w4': option \"Site::local_nets\" is not one zeek-mgmt sets (known: AF_Packet::fanout_id, AF_Packet::fanout_mode, AF_Packet::enable_fanout, AF_Packet::buffer_size)",
      "node 'w4': option AF_Packet::fanout_mode = \"FANOUT_HASH; print 1\" is invalid: expected one of FANOUT_HASH, FANOUT_CPU, FANOUT_QM",
      "nodes 'manager' and 'w1' on instance 'agent-a' are both pinned to CPU 1",
    ]);
  });

  test('without auto-assignment, nodes lacking Broker ports are named', () => {
    const errors = validateConfiguration(mini(), { ...ctx, autoAssignPorts: false });
    assert.deepEqual(errors, [
      'Broker port auto-assignment disabled but nodes logger, manager lack ports',
      'port auto-assignment disabled but the ZeroMQ cluster lacks xpub_port/xsub_port',
    ]);
    const broker = { ...mini(), cluster: { backend: 'broker' as const } };
    assert.deepEqual(validateConfiguration(broker, { ...ctx, autoAssignPorts: false }), ['Broker port auto-assignment disabled but nodes logger, manager lack ports']);
  });

  test('the cluster backend: ZeroMQ proxy ports collide with nothing on the manager\'s instance', () => {
    const c: Configuration = {
      id: 'z',
      instances: [inst('agent-testbox', '127.0.0.1', 2151)],
      nodes: [node('manager', 'MANAGER', { port: tcp(2200) }), node('logger', 'LOGGER', { port: tcp(2201) })],
      cluster: { xpubPort: tcp(2201), xsubPort: tcp(2151) },
    };
    assert.deepEqual(validateConfiguration(c, ctx), [
      "cluster xpub_port 2201/tcp conflicts with a node port on instance 'agent-testbox'",
      "cluster xsub_port 2151/tcp conflicts with agent port on instance 'agent-testbox'",
    ]);
    assert.deepEqual(validateConfiguration({ ...c, cluster: { xpubPort: tcp(2150), xsubPort: tcp(2150) } }, ctx), [
      'cluster xpub_port 2150/tcp conflicts with controller port',
      'cluster xpub_port and xsub_port are both 2150/tcp',
      'cluster xsub_port 2150/tcp conflicts with controller port',
    ]);
    assert.deepEqual(validateConfiguration({ ...c, cluster: { backend: 'broker', xpubPort: tcp(5555) } }, ctx), ['cluster xpub_port 5555/tcp is a ZeroMQ setting, but the backend is broker']);
    assert.deepEqual(validateConfiguration({ ...mini(), nodes: mini().nodes.filter((n) => n.role !== 'MANAGER') }, ctx),
      ['the cluster has no manager; it needs exactly one (with ZeroMQ it also runs the XPUB/XSUB proxy every node connects to)']);
    assert.deepEqual(validateConfiguration({ ...mini(), nodes: [] }, ctx), [], 'an empty configuration stops the cluster, whatever the backend');
  });
});

describe('validation of what Zeek would not catch either', () => {
  test('exactly one manager, with either backend', () => {
    const two = { ...mini(), nodes: [...mini().nodes, node('manager-2', 'MANAGER')] };
    assert.deepEqual(validateConfiguration(two, ctx), ['the cluster has 2 managers (manager, manager-2); it needs exactly one']);
    const none = { ...mini(), cluster: { backend: 'broker' as const }, nodes: mini().nodes.filter((n) => n.role !== 'MANAGER') };
    assert.deepEqual(validateConfiguration(none, ctx), ['the cluster has no manager; it needs exactly one (with ZeroMQ it also runs the XPUB/XSUB proxy every node connects to)']);
  });

  test('metrics ports: one per node on a host; not another node\'s port; not the controller\'s or the agent\'s', () => {
    const c: Configuration = {
      id: 'metrics',
      instances: [inst('agent-a', '10.0.0.1', 2151), inst('agent-b', '10.0.0.1'), inst('agent-c', '10.0.0.3')],
      nodes: [
        node('manager', 'MANAGER', { instance: 'agent-a', port: tcp(2200), metricsPort: tcp(9000) }),
        node('logger', 'LOGGER', { instance: 'agent-b', metricsPort: tcp(9000) }),
        node('proxy', 'PROXY', { instance: 'agent-b', metricsPort: tcp(2200) }),
        node('w1', 'WORKER', { instance: 'agent-c', metricsPort: tcp(9000) }),
        node('w2', 'WORKER', { instance: 'agent-a', metricsPort: tcp(2151) }),
        node('w3', 'WORKER', { instance: 'agent-c', metricsPort: tcp(2149) }),
        node('w4', 'WORKER', { instance: 'agent-c', port: tcp(2149) }),
      ],
    };
    assert.deepEqual(validateConfiguration(c, { ...ctx, clientPort: 2149 }), [
      "node 'manager' metrics port 9000/tcp is already the metrics port of node 'logger' on host 10.0.0.1",
      "node 'proxy' metrics port 2200/tcp is already the port of node 'manager' on host 10.0.0.1",
      "node 'w2' metrics port 2151/tcp conflicts with agent port on instance 'agent-a'",
      "node 'w3' metrics port 2149/tcp conflicts with controller port",
      "node 'w3' metrics port 2149/tcp is already the port of node 'w4' on host 10.0.0.3",
      "node 'w4' port 2149/tcp conflicts with controller port",
    ]);
  });
});

describe('backend port assignment', () => {
  test('ZeroMQ: the proxy ports follow the Broker ports; metrics ports skip them; the backend is spelled out', () => {
    const broker = assignBrokerPorts(mini(), 2200, [2150]);
    const ready = assignMetricsPorts(assignBackendPorts(broker, 2200, [2150]), 2202);
    assert.deepEqual(ready.cluster, { backend: 'zeromq', xpubPort: tcp(2202), xsubPort: tcp(2203) });
    assert.deepEqual(ports(ready), { manager: [2200, 2204], logger: [2201, 2205], 'worker-01': [undefined, 2206], 'worker-02': [undefined, 2207] });
    const given = assignBackendPorts({ ...broker, cluster: { xsubPort: tcp(2202) } }, 2200);
    assert.deepEqual(given.cluster, { backend: 'zeromq', xsubPort: tcp(2202), xpubPort: tcp(2203) }, 'a port given is kept and skipped');
  });

  test('Broker and clusters without a manager get no proxy ports', () => {
    assert.deepEqual(assignBackendPorts({ ...mini(), cluster: { backend: 'broker' } }, 2200).cluster, { backend: 'broker' });
    assert.deepEqual(assignBackendPorts({ ...mini(), nodes: [] }, 2200).cluster, { backend: 'zeromq' });
  });
});

describe('settings', () => {
  const resolved = (flags: ControllerFlags, env: NodeJS.ProcessEnv) => {
    const r = resolveControllerOptions(flags, env);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };
  const refused = (flags: ControllerFlags, env: NodeJS.ProcessEnv = {}): string => {
    const r = resolveControllerOptions(flags, env);
    assert.equal(r.ok, false, 'refused');
    return r.ok ? '' : r.error;
  };

  test('flags win over the environment, which wins over defaults', () => {
    const env = { ZEEK_CONTROLLER_NAME: 'c-env', ZEEK_CONTROLLER_PORT: '3150', ZEEK_CONTROLLER_WEBSOCKET_PORT: '3149', ZEEK_MANAGEMENT_STATE_DIR: '/tmp/x' };
    const fromEnv = resolved({}, env);
    assert.equal(fromEnv.name, 'c-env');
    assert.equal(fromEnv.agentPort, 3150);
    assert.equal(fromEnv.clientPort, 3149);
    assert.equal(fromEnv.stateDir, '/tmp/x/c-env', 'the state directory is <base>/<name>, as for up and agent');
    const fromFlags = resolved({ name: 'c-flag', agentPort: '0', requestTimeout: '1.5' }, env);
    assert.equal(fromFlags.name, 'c-flag');
    assert.equal(fromFlags.agentPort, 0);
    assert.equal(fromFlags.requestTimeoutMs, 1500);
    const defaults = resolved({}, {});
    assert.equal(defaults.clientPort, 2149);
    assert.equal(defaults.agentPort, 2150);
    assert.equal(defaults.clientHost, '127.0.0.1');
    assert.match(defaults.name, /^controller-/);
    assert.match(defaults.stateDir, /\.zeek-mgmt\/controller-/);
  });

  test('bad values are refused with the flag named', () => {
    assert.equal(refused({ clientPort: '70000' }), '--client-port must be a port number (0-65535), got "70000"');
    assert.match(refused({ requestTimeout: 'soon' }), /--request-timeout must be a positive number/);
    assert.match(refused({ portStart: '0' }), /--port-start must be a port number \(1-65535\)/);
    assert.match(refused({ logLevel: 'loud' }), /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/);
  });

  test('ports read as Zeek writes them; a bad one from the environment names the variable', () => {
    assert.equal(resolved({}, { ZEEK_CONTROLLER_PORT: '2150/tcp', ZEEK_CONTROLLER_WEBSOCKET_PORT: '3149/tcp' }).agentPort, 2150);
    assert.equal(resolved({}, { ZEEK_CONTROLLER_WEBSOCKET_PORT: '3149/tcp' }).clientPort, 3149);
    assert.equal(refused({}, { ZEEK_CONTROLLER_PORT: '2150/udp' }), 'ZEEK_CONTROLLER_PORT must be a port number (0-65535), got "2150/udp"');
    assert.match(refused({}, { ZEEK_CONTROLLER_ADDR: 'not an address' }), /^ZEEK_CONTROLLER_ADDR must be an address or host name/);
  });
});
