/**
 * The executable (src/bin.cts) runs plain client commands from the client
 * bundle (scripts/bundle-client.ts): the bundle must be what the current
 * build makes, its code cache must be taken, and every command, error and
 * help text must come out as over the ES modules (src/cli.ts).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ControllerApi, encodeInstance, encodeNodeStatus } from '../src/management/index.js';
import { vector } from '../src/protocol/index.js';
import { bundleClient } from '../scripts/bundle-client.js';
import { CLI, MODULE_CLI, freePort, removeTempDirs, runCli, runCliTracingLoads, spawnProc, stopAll, tempDir } from './helpers/process.js';
import { bad, FakeController, ok } from './client/fake-controller.js';

const bin = createRequire(import.meta.url)(CLI) as typeof import('../src/bin.cjs');
const DIST_SRC = join(CLI, '..');

const fake = new FakeController();
before(async () => {
  await fake.start();
  fake.on(ControllerApi.getInstances.request, ControllerApi.getInstances.response, (reqid) =>
    [reqid, ok(reqid, { data: vector([encodeInstance({ name: 'agent-b', host: '10.0.0.2', listenPort: { number: 2151, protocol: 'tcp' } }), encodeInstance({ name: 'agent-a', host: '127.0.0.1' })]) })]);
  fake.on(ControllerApi.getNodes.request, ControllerApi.getNodes.response, (reqid) => [reqid, [
    ok(reqid, { instance: 'agent-a', data: vector([encodeNodeStatus({ node: 'w1', state: 'RUNNING', mgmtRole: 'NONE', clusterRole: 'WORKER', pid: 42 })]) }),
    bad(reqid, 'request timed out', { instance: 'agent-c' }),
  ]]);
  fake.on(ControllerApi.testTimeout.request, ControllerApi.testTimeout.response, (reqid) => [reqid, bad(reqid, 'request timed out')]);
});
after(async () => { await stopAll(); await fake.close(); removeTempDirs(); });

const env = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' };

describe('the client bundle', () => {
  test('is what the build makes from the current sources, and its code cache is taken', async () => {
    const dir = tempDir();
    await bundleClient(dir);
    assert.equal(readFileSync(join(DIST_SRC, bin.BUNDLE_FILE), 'utf8'), readFileSync(join(dir, bin.BUNDLE_FILE), 'utf8'),
      'dist/src/client.bundle.cjs is stale: run npm run build');
    assert.equal(bin.loadClientBundle(dir).cacheRejected, false);
    assert.equal(bin.loadClientBundle(DIST_SRC).cacheRejected, false);
  });

  test('a cache that does not match is refused and the bundle still runs', () => {
    const source = readFileSync(join(DIST_SRC, bin.BUNDLE_FILE), 'utf8');
    const { rejected } = bin.compileBundle(`${source}\n// changed`, 'x.cjs', readFileSync(join(DIST_SRC, bin.CACHE_FILE)));
    assert.equal(rejected, true);
  });

  test('a plain client command loads no ES module and none of the builtins only some commands need', async () => {
    const dir = tempDir();
    const hook = join(dir, 'builtins.cjs');
    writeFileSync(hook, "process.on('exit', () => process.stderr.write('BUILTINS ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'));\n");
    const r = await runCliTracingLoads(['--controller', `127.0.0.1:${fake.port}`, 'get-instances'], { env: { ...env, NODE_OPTIONS: `--require ${hook}` } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"agent-a"/);
    // The hook sees the entry itself (hooks make Node resolve it), and nothing else.
    assert.deepEqual(r.loaded.filter((u) => u !== pathToFileURL(CLI).href), []);
    const builtins = (/^BUILTINS (.*)$/m.exec(r.stderr)?.[1] ?? '').split(' ');
    assert.ok(builtins.includes('net') && builtins.includes('http'), r.stderr);
    assert.deepEqual(builtins.filter((m) => ['https', 'tls', 'zlib', 'fs/promises'].includes(m)), []);
  });
});

describe('the executable and the ES modules give the same results', () => {
  const same = async (args: string[], input?: string): Promise<void> => {
    const options = { env, ...(input === undefined ? {} : { input }) };
    const bundled = await runCli(args, options);
    const modules = await runCli(args, { ...options, entry: MODULE_CLI });
    assert.deepEqual([bundled.code, bundled.stdout, bundled.stderr], [modules.code, modules.stdout, modules.stderr], args.join(' '));
  };
  const at = (...args: string[]): string[] => ['--controller', `127.0.0.1:${fake.port}`, '--set', 'client.request_timeout_secs=2', ...args];

  test('commands that succeed, fail or time out', async () => {
    await same(at('get-instances'));
    await same(at('-vv', 'get-instances'));
    await same(at('get-nodes'));
    await same(at('get-nodes', '--table'));
    await same(at('test-timeout'));
    await same(at('--set', 'client.pretty_json=False', 'get-instances'));
  });

  test('settings, help, version and usage errors', async () => {
    await same(['show-settings']);
    await same(['--controller', '[::1]:99', '-c', '/nonexistent/client.cfg', 'show-settings']);
    await same(['--help']);
    await same(['get-nodes', '--help']);
    await same(['--version']);
    await same(['no-such-command']);
    await same(['get-config', '--deployed', '--staged']);
    await same(at('-q', '-v', 'get-instances'));
    await same(at('--set', 'nodot', 'get-instances'));
    await same(['--set', `controller.port=${fake.port}`, '--controller', 'fe80::1', 'get-instances']);
    await same(at('--set', 'client.peering_attempts=many', 'get-instances'));
  });

  test('an unreachable controller and a configuration that does not parse', async () => {
    const port = await freePort();
    await same(['--controller', `127.0.0.1:${port}`, '--set', 'client.peering_attempts=1', 'get-instances']);
    await same(['deploy-config', '/nonexistent/cluster.ini']);
    await same(at('stage-config', '-'), '[manager\nrole = manager\n');
  });
});

test('run as a file, Node starts without NODE_EXTRA_CA_CERTS and the command sees it as the operator set it', async () => {
  const dir = tempDir();
  const hook = join(dir, 'env.cjs');
  writeFileSync(hook, "process.on('exit', () => process.stderr.write('EXTRA ' + JSON.stringify([process.env.NODE_EXTRA_CA_CERTS, process.env.ZEEK_MGMT_NODE_EXTRA_CA_CERTS]) + '\\n'));\n");
  const missing = join(dir, 'no such ca.pem');
  const run = async (command: string, args: string[]): Promise<string> => {
    const p = spawnProc(command, [...args, 'show-settings'], { env: { ...env, NODE_EXTRA_CA_CERTS: missing, NODE_OPTIONS: `--require ${hook}` } });
    assert.equal(await p.exited(), 0, p.stderr());
    return p.stderr();
  };
  // Node warns at start-up when it cannot load the file: it tried.
  const viaNode = await run(process.execPath, [CLI]);
  assert.match(viaNode, /Ignoring extra certs/);
  const direct = await run(CLI, []);
  assert.doesNotMatch(direct, /extra certs/);
  assert.deepEqual(JSON.parse(/^EXTRA (.*)$/m.exec(direct)?.[1] ?? 'null'), [missing, null]);
});
