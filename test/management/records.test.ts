import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attempt, count, decodeValue, encodeValue, none, parseJson, stringifyJson, str, vector, type Value } from '../../src/protocol/index.js';
import {
  CLUSTER_BACKENDS, CLUSTER_ROLES, MGMT_ROLES, STATES, ControllerApi, AgentApi,
  decodeConfiguration, decodeInstance, decodeNode, decodeNodeOutputs, decodeNodeStatus, decodeResult,
  encodeConfiguration, encodeInstance, encodeNode, encodeNodeOutputs, encodeNodeStatus, encodeResult,
  type Configuration, type Instance, type Node, type NodeStatus, type Result,
} from '../../src/management/index.js';
import { arbValue } from '../protocol/arbitraries.js';

const viaText = (v: Value): Value => decodeValue(parseJson(stringifyJson(encodeValue(v))));
const port = fc.record({ number: fc.integer({ min: 0, max: 65535 }), protocol: fc.constantFrom('tcp' as const, 'udp' as const) }, { noNullPrototype: true });
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);

const arbInstance: fc.Arbitrary<Instance> = fc.record(
  { name, host: fc.oneof(fc.ipV4(), fc.constant('::1')), listenPort: port },
  { requiredKeys: ['name', 'host'], noNullPrototype: true },
);

const arbNode: fc.Arbitrary<Node> = fc.record({
  name, instance: name,
  role: fc.constantFrom(...CLUSTER_ROLES),
  state: fc.constantFrom(...STATES),
  port,
  scripts: fc.array(fc.string(), { maxLength: 3 }),
  options: fc.array(fc.record({ name: fc.string(), value: fc.string() }, { noNullPrototype: true }), { maxLength: 2 }),
  interface: fc.string(),
  cpuAffinity: fc.integer({ min: -1, max: 1024 }),
  env: fc.dictionary(fc.stringMatching(/^[A-Z_]{1,8}$/), fc.string(), { maxKeys: 3, noNullPrototype: true }),
  metricsPort: port,
}, { requiredKeys: ['name', 'instance', 'role', 'state', 'env'], noNullPrototype: true });

const arbCluster = fc.record({
  backend: fc.constantFrom(...CLUSTER_BACKENDS), xpubPort: port, xsubPort: port,
  logExpireDays: fc.integer({ min: 0, max: 36500 }), bundle: fc.stringMatching(/^[0-9a-f]{64}$/),
}, { requiredKeys: [], noNullPrototype: true })
  .filter((c) => Object.keys(c).length > 0);

const arbConfig: fc.Arbitrary<Configuration> = fc.record({
  id: fc.string(), instances: fc.array(arbInstance, { maxLength: 3 }), nodes: fc.array(arbNode, { maxLength: 4 }), cluster: arbCluster,
}, { requiredKeys: ['id', 'instances', 'nodes'], noNullPrototype: true });

/** A worker's capture figures (fields [13]-[15]): received always, dropped and the time optional. */
const arbCapture = fc.record({
  packetsReceived: fc.maxSafeNat(), packetsDropped: fc.maxSafeNat(),
  captureTime: fc.date({ min: new Date(0), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
}, { requiredKeys: ['packetsReceived'], noNullPrototype: true });

const arbStatus: fc.Arbitrary<NodeStatus> = fc.tuple(fc.record({
  node: name, state: fc.constantFrom(...STATES), mgmtRole: fc.constantFrom(...MGMT_ROLES),
  clusterRole: fc.constantFrom(...CLUSTER_ROLES), pid: fc.integer({ min: 1, max: 4194304 }), port, metricsPort: port,
  backendPorts: fc.dictionary(fc.constantFrom('xpub', 'xsub'), port, { minKeys: 1, noNullPrototype: true }),
}, { requiredKeys: ['node', 'state', 'mgmtRole', 'clusterRole'], noNullPrototype: true }), fc.option(arbCapture, { nil: undefined }))
  .map(([status, capture]) => ({ ...status, ...capture }));

const arbResult: fc.Arbitrary<Result> = fc.record({
  reqid: fc.string(), success: fc.boolean(), instance: fc.string(),
  data: arbValue.filter((v) => v.type !== 'none'), error: fc.string(), node: fc.string(),
}, { requiredKeys: ['reqid', 'success'], noNullPrototype: true });

describe('Management record codecs', () => {
  const cases: [string, fc.Arbitrary<unknown>, (x: never) => Value, (v: Value, p: string) => unknown][] = [
    ['Instance', arbInstance, encodeInstance, decodeInstance],
    ['Node', arbNode, encodeNode, decodeNode],
    ['Configuration', arbConfig, encodeConfiguration, decodeConfiguration],
    ['NodeStatus', arbStatus, encodeNodeStatus, decodeNodeStatus],
    ['Result', arbResult, encodeResult, decodeResult],
    ['NodeOutputs', fc.record({ stdout: fc.string(), stderr: fc.string() }, { noNullPrototype: true }), encodeNodeOutputs, decodeNodeOutputs],
  ];
  for (const [label, arb, encode, decode] of cases) {
    test(`${label} round-trips through JSON text`, () => {
      fc.assert(fc.property(arb, (x) => {
        assert.deepEqual(decode(viaText(encode(x as never)), ''), x);
      }), { numRuns: 200 });
    });
  }

  test('Node fields are in Zeek\'s declaration order with none for absent optionals', () => {
    const v = encodeNode({ name: 'worker-01', instance: 'agent-x', role: 'WORKER', state: 'RUNNING', interface: 'lo', env: { A: 'b' } });
    assert.deepEqual(encodeValue(v), {
      '@data-type': 'vector',
      data: [
        { '@data-type': 'string', data: 'worker-01' },
        { '@data-type': 'string', data: 'agent-x' },
        { '@data-type': 'enum-value', data: 'Supervisor::WORKER' },
        { '@data-type': 'enum-value', data: 'Management::RUNNING' },
        { '@data-type': 'none', data: {} },
        { '@data-type': 'none', data: {} },
        { '@data-type': 'none', data: {} },
        { '@data-type': 'string', data: 'lo' },
        { '@data-type': 'none', data: {} },
        { '@data-type': 'table', data: [{ key: { '@data-type': 'string', data: 'A' }, value: { '@data-type': 'string', data: 'b' } }] },
        { '@data-type': 'none', data: {} },
      ],
    });
  });

  test('decoding tolerates trailing fields a newer peer adds', () => {
    const v = encodeInstance({ name: 'agent-a', host: '10.0.0.1' });
    if (v.type !== 'vector') throw new Error('not a vector');
    const newer = vector([...v.value, str('future field')]);
    assert.deepEqual(decodeInstance(newer, ''), { name: 'agent-a', host: '10.0.0.1' });
  });

  test('a bad field is reported with its path and what was expected', () => {
    const node = encodeNode({ name: 'm', instance: 'i', role: 'MANAGER', state: 'RUNNING', env: {} });
    if (node.type !== 'vector') throw new Error('not a vector');
    const bad = vector(node.value.map((f, i) => (i === 4 ? str('abc') : f)));
    const event = ControllerApi.stageConfiguration.request.make('r1', { id: 'c', instances: [], nodes: [] });
    const broken = { ...event, args: [event.args[0]!, vector([str('c'), vector([]), vector([bad])])] };
    const r = attempt(() => ControllerApi.stageConfiguration.request.decode(broken));
    assert.deepEqual(r, { ok: false, error: 'args[1][2][0][4]: expected port, got string "abc"' });
  });

  test('enum spellings are checked', () => {
    const r = attempt(() => decodeNodeStatus(vector([str('n'), { type: 'enum-value', value: 'Management::DANCING' }]), 'x'));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /^x\[1\]: expected one of Management::PENDING, .*got "Management::DANCING"$/);
  });

  test('event arity is checked and trailing defaults apply', () => {
    const bad = attempt(() => ControllerApi.deploy.request.decode({ name: 'x', args: [str('a'), str('b')] }));
    assert.deepEqual(bad, { ok: false, error: 'args: Management::Controller::API::deploy_request takes 1 argument, got 2' });
    const cfg = { id: 'c', instances: [], nodes: [] };
    const noForce = AgentApi.deploy.request.make('r', cfg, false);
    const shortened = { ...noForce, args: noForce.args.slice(0, 2) };
    assert.deepEqual(AgentApi.deploy.request.decode(shortened), ['r', cfg, false, []]);
  });
});

describe('our trailing fields', () => {
  test('a configuration without cluster settings encodes as the original three fields; zeek-client\'s three decode', () => {
    const plain = encodeConfiguration({ id: 'c', instances: [], nodes: [] });
    assert.equal(plain.type === 'vector' && plain.value.length, 3);
    const withBackend = encodeConfiguration({ id: 'c', instances: [], nodes: [], cluster: { backend: 'broker' } });
    assert.equal(withBackend.type === 'vector' && withBackend.value.length, 4);
    assert.deepEqual(decodeConfiguration(withBackend, 'c').cluster, { backend: 'broker' });
  });

  test('log_expire_days and the bundle hash are two more trailing fields, written only when set', () => {
    const hash = 'a1'.repeat(32);
    const both = encodeConfiguration({ id: 'c', instances: [], nodes: [], cluster: { backend: 'broker', logExpireDays: 7, bundle: hash } });
    assert.ok(both.type === 'vector' && both.value[3]?.type === 'vector');
    assert.equal(both.value[3].value.length, 5);
    assert.deepEqual(decodeConfiguration(both, 'c').cluster, { backend: 'broker', logExpireDays: 7, bundle: hash });
    const backendOnly = encodeConfiguration({ id: 'c', instances: [], nodes: [], cluster: { backend: 'broker' } });
    assert.ok(backendOnly.type === 'vector' && backendOnly.value[3]?.type === 'vector');
    assert.equal(backendOnly.value[3].value.length, 3, 'as before');
    const settings = (...f: Value[]): Value => vector([str('c'), { type: 'set', value: [] }, { type: 'set', value: [] }, vector(f)]);
    assert.deepEqual(attempt(() => decodeConfiguration(settings(none(), none(), none(), count(40000)), 'config')),
      { ok: false, error: 'config[3][3]: log_expire_days must be 0 to 36500, got 40000' });
    assert.deepEqual(attempt(() => decodeConfiguration(settings(none(), none(), none(), none(), str('../../etc')), 'config')),
      { ok: false, error: 'config[3][4]: a script bundle is named by its sha256 (64 lowercase hex digits), got "../../etc"' });
  });

  test('a worker\'s capture figures are three more trailing NodeStatus fields, written only when it has them', () => {
    const base: NodeStatus = { node: 'worker-01', state: 'RUNNING', mgmtRole: 'NONE', clusterRole: 'WORKER', restarts: 0 };
    const plain = encodeNodeStatus(base);
    assert.ok(plain.type === 'vector');
    assert.equal(plain.value.length, 13, 'as before');
    const withCapture = encodeNodeStatus({ ...base, packetsReceived: 1200, packetsDropped: 3, captureTime: '2025-01-02T03:04:05.678Z' });
    assert.ok(withCapture.type === 'vector');
    assert.equal(withCapture.value.length, 16);
    assert.deepEqual(withCapture.value.slice(13), [count(1200), count(3), { type: 'timestamp', value: '2025-01-02T03:04:05.678' }]);
    const negative = vector([...withCapture.value.slice(0, 13), { type: 'integer', value: -5n }]);
    assert.deepEqual(attempt(() => decodeNodeStatus(negative, 'status')), { ok: false, error: 'status[13]: expected a count, got -5' });
  });

  test('an unknown backend is a decode error naming it', () => {
    const bad = vector([str('c'), { type: 'set', value: [] }, { type: 'set', value: [] }, vector([str('nats')])]);
    assert.deepEqual(attempt(() => decodeConfiguration(bad, 'config')), { ok: false, error: 'config[3][0]: cluster backend must be one of zeromq, broker, got "nats"' });
  });
});
