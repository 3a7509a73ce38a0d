/**
 * A full disk under the controller's state directory (a small tmpfs):
 * staging fails with SQLite's message and changes nothing, the controller
 * keeps serving (its log writes fail quietly and say so later), it starts
 * on a full disk and serves what it has, and it recovers when space returns.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerApi, decodeConfiguration, type Configuration, type Node } from '../../src/management/index.js';
import { pidAlive, removeTempDirs, stopAll } from '../helpers/process.js';
import { fill, mountTmpfs, unmountAll } from '../helpers/tmpfs.js';
import { startControllerProc, TestClient } from './harness.js';

const clients: TestClient[] = [];
after(async () => {
  for (const c of clients) await c.close();
  await stopAll();
  unmountAll();
  removeTempDirs();
});

const node = (name: string, role: Node['role']): Node =>
  ({ name, instance: 'agent-a', role, state: 'RUNNING', env: { PAD: 'p'.repeat(300) }, ...(role === 'WORKER' ? { interface: 'lo' } : {}) });
const config = (id: string, workers: number): Configuration => ({
  id,
  instances: [{ name: 'agent-a', host: '127.0.0.1' }],
  nodes: [node('manager', 'MANAGER'), ...Array.from({ length: workers }, (_, i) => node(`worker-${i}`, 'WORKER'))],
});

async function connect(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port);
  clients.push(c);
  return c;
}

const stagedId = async (c: TestClient): Promise<string | undefined> => {
  const r = await c.request((id) => ControllerApi.getConfiguration.request.make(id, false), ControllerApi.getConfiguration.response);
  return r.data ? decodeConfiguration(r.data, 'c').id : undefined;
};

test('a full disk fails the stage at hand with a clear message; the controller keeps serving, starts on a full disk, and recovers', async (t) => {
  const mount = mountTmpfs(4 * 1024 * 1024);
  if (!mount.ok) return t.skip(mount.why);
  const stateDir = join(mount.dir, 'state');
  const filler = join(mount.dir, 'filler');

  let ctl = await startControllerProc(stateDir);
  let c = await connect(ctl.clientPort);
  assert.equal((await c.stage(config('before-full', 2)))[0]!.success, true);
  assert.ok(fill(filler) > 0);

  const failed = await c.stage(config('while-full', 400));
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.success, false);
  assert.match(failed[0]!.error!, /^could not store the configuration: database or disk is full$/);
  // Many requests while every log write fails: still served, every one.
  for (let i = 0; i < 200; i++) assert.equal(await stagedId(c), 'before-full');
  assert.ok(pidAlive(ctl.proc.pid));

  // Restarted while the disk is full: it starts and serves what it stored.
  await ctl.proc.stop();
  ctl = await startControllerProc(stateDir);
  c = await connect(ctl.clientPort);
  assert.equal(await stagedId(c), 'before-full');
  assert.equal((await c.stage(config('still-full', 400)))[0]!.error, 'could not store the configuration: database or disk is full');

  rmSync(filler);
  const staged = await c.stage(config('after-full', 400));
  assert.deepEqual(staged.map((r) => [r.success, r.error ?? null]), [[true, null]]);
  assert.equal(await stagedId(c), 'after-full');
  await ctl.proc.stop();
  const log = readFileSync(join(ctl.stateDir, 'management.log'), 'utf8');
  assert.match(log, /"msg":"\d+ log lines? lost: the log could not be written \(disk full\?\)"/);
  for (const line of log.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(line), `every line is JSON: ${line.slice(0, 300)}`);
});
