/**
 * The controller's SQLite store (real files in temp directories): the
 * upgrade of a schema 2 database, the history's configurations by id, the
 * last good deployment, the stopped nodes, and the history's bounds.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { failure, success, type Configuration } from '../../src/management/index.js';
import { ControllerStore, HISTORY_LIMIT } from '../../src/controller/store.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

const config = (id: string): Configuration => ({ id, instances: [{ name: 'a', host: '127.0.0.1' }], nodes: [{ name: 'w', instance: 'a', role: 'WORKER', state: 'RUNNING', env: {}, interface: 'lo' }] });

describe('controller store', () => {
  test('a schema 2 database is upgraded: its history and deployed configuration are kept and readable by id', () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'controller.sqlite'));
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE configs (state TEXT PRIMARY KEY, config_id TEXT NOT NULL, body TEXT NOT NULL, updated TEXT NOT NULL);
      CREATE TABLE deployments (id TEXT PRIMARY KEY, config_id TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, outcome TEXT, results TEXT);
      INSERT INTO meta VALUES ('schema', '2');
    `);
    db.prepare('INSERT INTO configs VALUES (?, ?, ?, ?)').run('deployed', 'old-1', JSON.stringify(config('old-1')), '2024-01-01T00:00:00.000Z');
    db.prepare('INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?)').run('dep-1', 'old-1', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:01.000Z', 'success', '[]');
    db.close();

    const store = ControllerStore.open(dir);
    try {
      assert.deepEqual(store.deployments().map((d) => [d.id, d.configId, d.kind, d.outcome]), [['dep-1', 'old-1', 'deploy', 'success']]);
      assert.deepEqual(store.configurationById('old-1'), config('old-1'));
      assert.deepEqual(store.configurationById('dep-1'), config('old-1'), 'by the deployment id too');
      assert.equal(store.configurationById('nope'), undefined);
      assert.equal(store.lastGoodDeployment('other')?.id, 'dep-1');
      assert.equal(store.lastGoodDeployment('old-1'), undefined, 'another configuration than the one named');
    } finally {
      store.close();
    }
    const check = new Database(join(dir, 'controller.sqlite'), { readonly: true });
    assert.equal(check.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), '3');
    check.close();
  });

  test('deployments keep who and what kind, per-node Results; stopped nodes are remembered until a new deployed configuration', () => {
    const store = ControllerStore.open(tempDir());
    try {
      store.startDeployment('d1', config('c1'), 'deploy', 'client 127.0.0.1:1');
      store.endDeployment('d1', 'failure', [success('d1', { node: 'w' }), failure('d1', 'boom', { node: 'x' })]);
      const [d] = store.deployments();
      assert.deepEqual([d!.kind, d!.who, d!.results?.map((r) => [r.node, r.success, r.error])], ['deploy', 'client 127.0.0.1:1', [['w', true, undefined], ['x', false, 'boom']]]);
      assert.equal(store.lastGoodDeployment(''), undefined, 'a failed deployment is not a good one');
      store.setStopped(['w', 'x'], true);
      store.setStopped(['x'], false);
      assert.deepEqual(store.stoppedNodes(), ['w']);
      store.saveDeployed(config('c2'));
      assert.deepEqual(store.stoppedNodes(), []);
    } finally {
      store.close();
    }
  });

  test(`the history keeps the newest ${HISTORY_LIMIT} deployments and ${HISTORY_LIMIT} bring-backs, and the configurations they use`, () => {
    const store = ControllerStore.open(tempDir());
    try {
      for (let i = 0; i < HISTORY_LIMIT + 20; i++) {
        store.startDeployment(`d${i}`, config(`c${i}`));
        store.startDeployment(`b${i}`, config(`c${i}`), 'bring-back');
      }
      const rows = store.deployments(1000);
      assert.equal(rows.filter((r) => r.kind === 'deploy').length, HISTORY_LIMIT);
      assert.equal(rows.filter((r) => r.kind === 'bring-back').length, HISTORY_LIMIT);
      assert.equal(store.configurationById('c0'), undefined, 'the oldest configuration went with its deployments');
      assert.equal(store.configurationById(`c${HISTORY_LIMIT + 19}`)?.id, `c${HISTORY_LIMIT + 19}`);
    } finally {
      store.close();
    }
  });
});
