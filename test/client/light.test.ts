import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerApi } from '../../src/management/index.js';
import { vector } from '../../src/protocol/index.js';
import { MODULE_CLI, removeTempDirs, runCliTracingLoads, stopAll } from '../helpers/process.js';
import { FakeController, ok } from './fake-controller.js';

const fake = new FakeController();
before(async () => { await fake.start(); });
after(async () => { await stopAll(); await fake.close(); removeTempDirs(); });

const env = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' };

test('over the ES modules (dist/src/cli.js), a one-shot client command loads the client, ws and the codec: not commander, pino, SQLite, the endpoint or controller/agent code', async () => {
  fake.on(ControllerApi.getInstances.request, ControllerApi.getInstances.response, (reqid) => [reqid, ok(reqid, { data: vector([]) })]);
  const r = await runCliTracingLoads(['--controller', `127.0.0.1:${fake.port}`, 'get-instances'], { env, entry: MODULE_CLI });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{}\n');
  // ws itself is required (CommonJS) by src/protocol/ws.ts, which this ES module hook does not see.
  assert.ok(r.loaded.some((u) => u.endsWith('/dist/src/protocol/ws.js')), 'ws is loaded');
  assert.ok(r.loaded.some((u) => u.endsWith('/dist/src/protocol/codec.js')), 'the codec is loaded');
  assert.ok(r.loaded.some((u) => u.endsWith('/dist/src/client/commands.js')), 'the commands are loaded');
  const heavy = r.loaded.filter((u) => /node_modules\/(commander|pino|better-sqlite3)|dist\/src\/(controller|agent|launch|node)\/|dist\/src\/program\.js/.test(u));
  assert.deepEqual(heavy, []);
  assert.deepEqual(r.loaded.filter((u) => /\/dist\/src\/protocol\/(endpoint|link|peer|server|index)\.js$/.test(u)), []);
});

test('any other form goes through commander, and still loads no controller or agent code', async () => {
  const r = await runCliTracingLoads(['get-instances', '--help'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: zeek-mgmt get-instances/);
  assert.ok(r.loaded.some((u) => u.endsWith('/dist/src/program.js')), 'the commander program is loaded');
  const heavy = r.loaded.filter((u) => /node_modules\/(pino|better-sqlite3)|dist\/src\/(controller|agent|launch)\/(?!cli\.js)/.test(u));
  assert.deepEqual(heavy, []);
});
