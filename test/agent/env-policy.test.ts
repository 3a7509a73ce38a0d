/**
 * A configuration may not set loader variables for its nodes (attack: a
 * deploy with NODE_OPTIONS=--import=data:… ran code as the agent's user),
 * unless the agent was started with --allow-loader-env.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentApi } from '../../src/management/index.js';
import { envRefusal } from '../../src/agent/env-policy.js';
import { AGENT, FakeController, cleanup, configuration, node, spawnAgent, waitForStates } from './harness.js';

after(cleanup);

const loaders = { NODE_OPTIONS: '--import=data:text/javascript,process.exit(7)', LD_PRELOAD: '/tmp/evil.so', ZEEK_PLUGIN_PATH: '/tmp/plugins' };

describe('environment policy', () => {
  test('loader variables are refused by name, ordinary ones pass', () => {
    for (const name of ['LD_PRELOAD', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'ZEEKPATH', 'ZEEK_PLUGIN_PATH', 'PYTHONPATH', 'GLIBC_TUNABLES', 'BASH_ENV', 'OPENSSL_CONF']) {
      assert.match(envRefusal(name, { allowLoaderEnv: false }) ?? '', /--allow-loader-env/, name);
      assert.equal(envRefusal(name, { allowLoaderEnv: true }), undefined, name);
    }
    for (const name of ['TZ', 'ZEEK_DEFAULT_CONNECT_RETRY', 'LANG', 'ZEEK_MGMT_SIM_HANG']) assert.equal(envRefusal(name, { allowLoaderEnv: false }), undefined, name);
  });

  test('a deploy setting NODE_OPTIONS, LD_PRELOAD or ZEEK_PLUGIN_PATH is refused and starts nothing', async () => {
    const c = await FakeController.start();
    const { stateDir } = spawnAgent(c.port);
    const { peer } = await c.hello(AGENT);
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response,
      [configuration('cfg-loader', [node('worker-1', 'WORKER', { interface: 'lo', env: loaders })]), false]);
    assert.deepEqual(results.map((r) => r.success), [false, false, false]);
    for (const name of Object.keys(loaders)) {
      assert.ok(results.some((r) => r.error === `invalid configuration: node "worker-1": environment variable ${name} can make the node load other code; the agent refuses it unless started with --allow-loader-env`), name);
    }
    assert.throws(() => readFileSync(join(stateDir, 'nodes', 'worker-1', 'stdout')), /ENOENT/, 'no node was started');
  });

  test('with --allow-loader-env the operator allows it', async () => {
    const c = await FakeController.start();
    spawnAgent(c.port, undefined, ['--allow-loader-env']);
    const { peer } = await c.hello(AGENT);
    const [, results] = await c.request(peer, AGENT, AgentApi.deploy.request, AgentApi.deploy.response,
      [configuration('cfg-allowed', [node('worker-1', 'WORKER', { interface: 'lo', env: { NODE_OPTIONS: '--max-old-space-size=64' } })]), false]);
    assert.deepEqual(results.map((r) => [r.node, r.success]), [['worker-1', true]]);
    await waitForStates(c, peer, ['worker-1'], 'RUNNING');
  });
});
