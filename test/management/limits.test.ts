/** The limit flags: read by the shared settings rules, defaults where not given, bad values named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveControllerOptions } from '../../src/controller/config.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { DEFAULT_DAEMON_LIMITS } from '../../src/management/limits.js';

test('limit flags reach the controller\'s and the agent\'s options; sizes take K, M, G', () => {
  const flags = { maxFrameSize: '2M', maxDepth: '40', maxQueue: '512K', maxConnectionsPerAddress: '9', maxRoutes: '77', maxReqidLength: '64', maxNodes: '12', maxConfigSize: '1G', logMaxSize: '1MiB', logKeep: '0' };
  const ctl = resolveControllerOptions({ name: 'c', ...flags }, {});
  assert.ok(ctl.ok);
  assert.deepEqual(ctl.value.limits, {
    wire: { ...DEFAULT_DAEMON_LIMITS.wire, maxFrameBytes: 2 * 1024 ** 2, maxDepth: 40, maxQueueBytes: 512 * 1024, maxConnectionsPerAddress: 9, maxRoutes: 77 },
    maxReqidLength: 64, maxNodes: 12, maxConfigBytes: 1024 ** 3, logMaxBytes: 1024 ** 2, logKeep: 0,
  });
  const agent = resolveAgentConfig({ name: 'a', runtime: 'sim', maxQueue: '3M', key: Buffer.alloc(32, 1) }, {}, '/tmp');
  assert.ok(agent.ok);
  assert.equal(agent.value.options.limits?.wire.maxQueueBytes, 3 * 1024 ** 2);
  assert.equal(agent.value.options.limits?.maxNodes, DEFAULT_DAEMON_LIMITS.maxNodes);
  const plain = resolveControllerOptions({ name: 'c' }, {});
  assert.ok(plain.ok);
  assert.deepEqual(plain.value.limits, DEFAULT_DAEMON_LIMITS);
});

test('a bad limit is one error naming its flag', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ maxFrameSize: '16Q' }, /^--max-frame-size must be a size of at least 1024 bytes \(e\.g\. 16M, 512K\), got "16Q"$/],
    [{ maxDepth: '3' }, /^--max-depth must be a whole number of at least 16, got "3"$/],
    [{ maxNodes: '-1' }, /^--max-nodes must be a whole number of at least 1, got "-1"$/],
    [{ maxReqidLength: '10' }, /^--max-reqid-length must be a whole number of at least 36/],
    [{ logKeep: 'many' }, /^--log-keep must be a whole number of at least 0, got "many"$/],
  ];
  for (const [flags, re] of cases) {
    const r = resolveControllerOptions({ name: 'c', ...flags }, {});
    assert.ok(!r.ok);
    assert.match(r.error, re);
  }
});
