/**
 * Operations on real Zeek (../shared/zeek, installed in /opt/zeek): a
 * rolling restart of real workers, each back to RUNNING before the next
 * goes down; stop and start of a real node; the health fields of real zeek
 * processes and a worker's capture figures from its metrics; and diag of a real zeek node that crashed, with zeek's own
 * version and the node's generated scripts in the archive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, pidAlive, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { realZeekSkip, requireZeek } from '../helpers/zeek.js';
import { AGENT, configFile, killPids, startCluster, type Cluster } from '../helpers/cluster.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const skip = realZeekSkip();
let c: Cluster | undefined;

after(async () => {
  await stopAll();
  if (c) killPids(c.pids);
  removeTempDirs();
});

const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
const NAMES = ['logger', 'manager', 'worker-01', 'worker-02', 'worker-03'];

describe('operations on real Zeek', { skip }, () => {
  let cl: Cluster;
  before(async () => {
    cl = c = await startCluster({ runtime: 'zeek', zeekPath: requireZeek(), nodeTimeoutS: 25 });
    // worker-03 loads misc/stats (as zeekctl's local.zeek does), which publishes the capture counters.
    const file = configFile(MINI, (t) => `${t}\n[worker-03]\nrole = worker\ninstance = agent-test\ninterface = lo\nscripts = misc/stats\n`);
    const deployed = await cl.client(['deploy-config', file]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  });

  test('restart --rolling restarts the real workers one at a time; the manager and logger keep running', async () => {
    const before = await cl.allRunning(NAMES);
    for (const s of Object.values(before)) assert.equal(comm(s.pid!), 'zeek');
    const monitor = await cl.monitor();
    const rolled = await cl.client(['restart', '--rolling']);
    assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
    assert.deepEqual(JSON.parse(rolled.stdout), { errors: [], results: { 'worker-01': true, 'worker-02': true, 'worker-03': true } });
    const after = await cl.allRunning(NAMES);
    for (const n of ['logger', 'manager']) assert.equal(after[n]!.pid, before[n]!.pid, `${n} untouched`);
    const lines = monitor.stdout().split('\n');
    const at = (node: string, change: RegExp): number => lines.findIndex((l) => l.includes(`node ${node} `) && change.test(l));
    const workers = ['worker-01', 'worker-02', 'worker-03'];
    for (const [i, w] of workers.entries()) {
      assert.notEqual(after[w]!.pid, before[w]!.pid);
      assert.equal(comm(after[w]!.pid!), 'zeek');
      const up = at(w, /PENDING -> RUNNING$/);
      assert.ok(at(w, /RUNNING -> PENDING$/) >= 0 && up > at(w, /RUNNING -> PENDING$/), lines.join('\n'));
      if (workers[i + 1]) assert.ok(at(workers[i + 1]!, /RUNNING -> PENDING$/) > up, `${workers[i + 1]} went down after ${w} was back:\n${lines.join('\n')}`);
    }
    await monitor.stop();
    // The restarted workers are in the cluster again: the manager answers for them over it.
    const ids = await cl.client(['get-id-value', 'Cluster::node']);
    assert.deepEqual(Object.keys((JSON.parse(ids.stdout) as { results: object }).results).sort(), NAMES);
  });

  test('stop and start a real worker; get-nodes tells the health of real zeek processes', async () => {
    const before = await cl.allRunning(NAMES);
    const stopped = await cl.client(['stop', 'worker-02']);
    assert.deepEqual(JSON.parse(stopped.stdout), { errors: [], results: { 'worker-02': true } });
    assert.equal(pidAlive(before['worker-02']!.pid!), false);
    const nodes = await cl.nodes();
    assert.equal(nodes['worker-02']!.state, 'STOPPED');
    const m = nodes.manager!;
    assert.ok(m.uptime_secs! >= 1 && m.rss_bytes! > 20_000_000 && m.cpu_percent! >= 0 && m.restarts === 0, JSON.stringify(m));
    const started = await cl.client(['start', 'worker-02']);
    assert.deepEqual(JSON.parse(started.stdout), { errors: [], results: { 'worker-02': true } });
    await cl.allRunning(NAMES);
    // Capture figures from real zeek's metrics (scraped every 5 s): a worker with misc/stats has them, one without has none.
    const w3 = await eventually(async () => {
      const w = (await cl.nodes())['worker-03'];
      return w?.packets_received !== undefined ? w : undefined;
    }, 15_000, 500);
    assert.ok(w3.packets_received! > 0 && w3.packets_dropped! >= 0, JSON.stringify(w3));
    const nodes2 = await cl.nodes();
    assert.equal(nodes2['worker-01']!.packets_received, undefined, JSON.stringify(nodes2['worker-01']));
  });

  test('diag of a real zeek node that crashed: its crash outputs, generated scripts, zeek version, ulimits and log lines', async () => {
    const before = await cl.allRunning(NAMES);
    process.kill(before['worker-01']!.pid!, 'SIGSEGV');
    const back = await eventually(async () => {
      const w = (await cl.nodes())['worker-01'];
      return w?.state === 'RUNNING' && w.pid !== before['worker-01']!.pid ? w : undefined;
    }, 40_000, 250);
    assert.equal(back.restarts, 1);
    assert.equal(back.last_exit?.signal, 'SIGSEGV');
    const crashes = readdirSync(join(cl.state, AGENT, 'crashes', 'worker-01'));
    assert.equal(crashes.length, 1);

    const out = join(tempDir(), 'diag.tar.gz');
    const r = await cl.client(['diag', 'worker-01', '-o', out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const names = spawnSync('tar', ['-tzf', out], { encoding: 'utf8' }).stdout.trim().split('\n').map((n) => n.replace(/^[^/]+\//, ''));
    for (const want of ['node-dir/cluster-layout.zeek', 'node-dir/cluster-backend.zeek', 'node-dir/management-node.zeek', 'node-dir/loaded-scripts',
      `crashes/${crashes[0]}/stderr`, `crashes/${crashes[0]}/exit.json`, `crashes/${crashes[0]}/loaded-scripts`, 'versions.txt', 'ulimits.txt']) {
      assert.ok(names.includes(want), `${want} in ${names.join(' ')}`);
    }
    const read = (name: string): string => spawnSync('tar', ['-xzOf', out, '--wildcards', `*/${name}`], { encoding: 'utf8' }).stdout;
    assert.match(read('versions.txt'), /^zeek-mgmt .*\nruntime zeek: \S+zeek \(Zeek \d+\.\d+/);
    assert.match(read(`crashes/${crashes[0]}/exit.json`), /"signal": "SIGSEGV"/);
    assert.match(read('node-dir/cluster-layout.zeek'), /\["worker-01"\]/);
    assert.match(read('ulimits.txt'), new RegExp(`^# node process ${back.pid}\\nLimit`));
    assert.match(read('management-log.txt'), /"node":"worker-01".*"exit":"killed by SIGSEGV"/);
  });
});
