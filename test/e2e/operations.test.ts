/**
 * Operations beyond the original (issue 16) with real processes on the sim
 * runtime: a controller and an agent as separate processes, driven by the
 * client. Stop and start across agent and controller restarts, the rolling
 * restart, status fields, the deployment history and rollback, and diag.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, pidAlive, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { AGENT, configFile, killPids, startCluster, type Cluster } from '../helpers/cluster.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const clusters: Cluster[] = [];

after(async () => {
  await stopAll();
  for (const c of clusters) killPids(c.pids);
  removeTempDirs();
});

async function cluster(agentArgs: string[] = []): Promise<Cluster> {
  const c = await startCluster({ runtime: 'sim', agentArgs });
  clusters.push(c);
  return c;
}

const MINI_NODES = ['logger', 'manager', 'worker-01', 'worker-02'];
const json = <T>(text: string): T => JSON.parse(text) as T;
type History = { results: { id: string; config_id: string; kind: string; who: string | null; outcome: string | null; nodes: Record<string, { success: boolean; error?: string }>; errors: string[] }[] };

describe('operations (sim runtime)', () => {
  test('stop and start: a stopped node stays stopped across agent and controller restarts, and when its agent comes back without its state', async () => {
    const c = await cluster();
    assert.equal((await c.client(['deploy-config', configFile(MINI)])).code, 0);
    const before = await c.allRunning(MINI_NODES);

    const stopped = await c.client(['stop', 'worker-01', 'nobody']);
    assert.equal(stopped.code, 1);
    assert.deepEqual(json(stopped.stdout), { errors: [{ source: 'nobody', error: 'unknown cluster node' }], results: { 'worker-01': true } });
    const afterStop = await c.nodes();
    assert.equal(afterStop['worker-01']!.state, 'STOPPED');
    assert.equal(afterStop['worker-01']!.pid, undefined);
    assert.equal(pidAlive(before['worker-01']!.pid!), false);
    assert.match(afterStop['worker-01']!.last_exit!.description, /^stopped/);

    // Both daemons go away (the agent leaves its nodes running) and come back.
    process.kill(c.controller.pid, 'SIGKILL');
    await c.controller.exited();
    await c.agent.stop();
    await c.startController();
    await c.startAgent();
    await c.controller.waitFor(/instance agent-test is back on the deployed configuration/);
    const back = await c.nodes();
    assert.equal(back['worker-01']!.state, 'STOPPED');
    for (const n of ['logger', 'manager', 'worker-02']) assert.equal(back[n]!.pid, before[n]!.pid, `${n} adopted, not restarted`);

    // The agent's host lost its state: the controller brings it back, leaving worker-01 stopped.
    await c.agent.stop();
    killPids([before.logger!.pid!, before.manager!.pid!, before['worker-02']!.pid!]);
    rmSync(join(c.state, AGENT), { recursive: true, force: true });
    await c.startAgent();
    const fresh = await eventually(async () => {
      const nodes = await c.nodes();
      return ['logger', 'manager', 'worker-02'].every((n) => nodes[n]?.state === 'RUNNING') ? nodes : undefined;
    }, 20_000, 250);
    assert.equal(fresh['worker-01']!.state, 'STOPPED');
    assert.equal(fresh['worker-01']!.pid, undefined);

    const started = await c.client(['start']);
    assert.equal(started.code, 0, started.stdout + started.stderr);
    assert.deepEqual(json(started.stdout), { errors: [], results: { logger: true, manager: true, 'worker-01': true, 'worker-02': true } });
    const all = await c.allRunning(MINI_NODES);
    assert.equal(all['worker-02']!.pid, fresh['worker-02']!.pid, 'start leaves running nodes alone');
  });

  test('restart --rolling: one worker at a time, each RUNNING before the next; the roll stops at a node that does not come back', async () => {
    const c = await cluster(['--restart-backoff', '0.1']);
    const three = configFile(MINI, (t) => `${t}\n[worker-03]\nrole = worker\ninstance = ${AGENT}\ninterface = lo\n`);
    assert.equal((await c.client(['deploy-config', three])).code, 0);
    const names = [...MINI_NODES, 'worker-03'];
    const before = await c.allRunning(names);
    const monitor = await c.monitor();

    const rolled = await c.client(['restart', '--rolling']);
    assert.equal(rolled.code, 0, rolled.stdout + rolled.stderr);
    assert.deepEqual(json(rolled.stdout), { errors: [], results: { 'worker-01': true, 'worker-02': true, 'worker-03': true } });
    const after = await c.allRunning(names);
    for (const n of ['logger', 'manager']) assert.equal(after[n]!.pid, before[n]!.pid, `${n} untouched`);
    for (const n of ['worker-01', 'worker-02', 'worker-03']) assert.notEqual(after[n]!.pid, before[n]!.pid, `${n} restarted`);
    const lines = monitor.stdout().split('\n');
    const at = (node: string, change: RegExp): number => lines.findIndex((l) => l.includes(`node ${node} `) && change.test(l));
    for (const [i, w] of ['worker-01', 'worker-02', 'worker-03'].entries()) {
      const down = at(w, /RUNNING -> PENDING$/);
      const up = at(w, /PENDING -> RUNNING$/);
      assert.ok(down >= 0 && up > down, `${w} went down and came back: ${lines.join('\n')}`);
      const next = ['worker-02', 'worker-03'][i];
      if (next) assert.ok(at(next, /RUNNING -> PENDING$/) > up, `${next} went down only after ${w} was RUNNING again:\n${lines.join('\n')}`);
    }
    await monitor.stop();

    // worker-01 on an interface that does not exist never comes back: worker-02 and -03 are left running.
    const bad = configFile(MINI, (t) => `${t.replace('[worker-01]\nrole = worker\ninstance = agent-test\ninterface = lo', '[worker-01]\nrole = worker\ninstance = agent-test\ninterface = eth9')}\n[worker-03]\nrole = worker\ninstance = ${AGENT}\ninterface = lo\n`);
    assert.equal((await c.client(['deploy-config', bad])).code, 1);
    const running = await eventually(async () => {
      const nodes = await c.nodes();
      return ['worker-02', 'worker-03'].every((n) => nodes[n]?.state === 'RUNNING') ? nodes : undefined;
    }, 20_000, 250);
    const stuck = await c.client(['restart', '--rolling']);
    assert.equal(stuck.code, 1);
    const sj = json<{ results: Record<string, boolean>; errors: { source: string; error: string }[] }>(stuck.stdout);
    assert.equal(sj.results['worker-01'], false);
    assert.deepEqual(sj.errors.map((e) => e.source).sort(), ['worker-02', 'worker-03']);
    assert.match(sj.errors[0]!.error, /not restarted: the rolling restart stopped because worker-01 did not come back/);
    const untouched = await c.nodes();
    for (const n of ['worker-02', 'worker-03']) assert.equal(untouched[n]!.pid, running[n]!.pid, `${n} was not restarted`);
  });

  test('get-nodes shows uptime, CPU, RSS, restarts and the last exit; after N failed runs a node stays FAILED', async () => {
    const c = await cluster(['--start-limit', '3', '--restart-backoff', '0.05']);
    const file = configFile(MINI, (t) => t.replace('[worker-02]\nrole = worker\ninstance = agent-test\ninterface = lo', '[worker-02]\nrole = worker\ninstance = agent-test\ninterface = lo\nenv = ZEEK_MGMT_SIM_CRASH_AFTER=0.3'));
    await c.client(['deploy-config', file]);
    const nodes = await eventually(async () => {
      const n = await c.nodes();
      return n['worker-02']?.state === 'FAILED' && n['worker-02'].restarts === 2 && n['worker-01']?.state === 'RUNNING' ? n : undefined;
    }, 30_000, 250);
    const w2 = nodes['worker-02']!;
    assert.equal(w2.pid, undefined);
    assert.equal(w2.last_exit?.code, 1);
    assert.match(c.agent.stderr(), /node worker-02 failed 3 times in a row \(start limit 3\); not restarting it/);
    const w1 = nodes['worker-01']!;
    assert.equal(w1.restarts, 0);
    assert.ok(w1.uptime_secs! >= 0 && w1.rss_bytes! > 5_000_000 && w1.cpu_percent! >= 0, JSON.stringify(w1));

    process.kill(w1.pid!, 'SIGKILL');
    const crashed = await eventually(async () => {
      const n = await c.nodes();
      return n['worker-01']?.state === 'RUNNING' && n['worker-01'].pid !== w1.pid ? n['worker-01'] : undefined;
    }, 20_000, 250);
    assert.equal(crashed.restarts, 1);
    assert.equal(crashed.last_exit?.signal, 'SIGKILL');
    assert.match(crashed.last_exit!.description, /killed by SIGKILL/);
    const table = await c.client(['get-nodes', '--table']);
    assert.match(table.stdout, /^INSTANCE +NODE +ROLE +STATE +PID +PORT +METRICS +UPTIME +CPU +RSS +RESTARTS +PACKETS +DROPPED +LAST EXIT$/m);
    // Capture figures come with the agent's next scrape of the new process's metrics: none yet, or some.
    assert.match(table.stdout, /worker-01 +worker +RUNNING +\d+ +- +\d+ +\d+s +\d+\.\d% +\d+\.\dM +1 +(- +-|\S+ +\S+ \(\d+\.\d\d%\)) +killed by SIGKILL, \d+s ago/);
    assert.match(table.stdout, /worker-02 +worker +FAILED +- +- +\d+ +- +- +- +2 +- +- +exited with code 1, \d+s ago/);
  });

  test('history: get-deployments, get-config --id, diff-config, rollback, deploy --rollback-on-failure; bad ids change nothing', async () => {
    const c = await cluster();
    const a = await c.client(['deploy-config', configFile(MINI)]);
    const idA = json<{ results: { id: string } }>(a.stdout).results.id;
    const b = await c.client(['deploy-config', configFile(MINI, (t) => t.replace(/\[worker-02\][^[]*/, ''))]);
    const idB = json<{ results: { id: string } }>(b.stdout).results.id;
    await c.allRunning(['logger', 'manager', 'worker-01']);

    const hist = json<History>((await c.client(['get-deployments'])).stdout).results;
    assert.deepEqual(hist.map((d) => [d.config_id, d.kind, d.outcome]), [[idB, 'deploy', 'success'], [idA, 'deploy', 'success']]);
    assert.match(hist[0]!.who!, /^client 127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(hist[1]!.nodes).sort(), MINI_NODES);
    assert.ok(Object.values(hist[1]!.nodes).every((n) => n.success));
    const table = await c.client(['get-deployments', '--table', '-n', '1']);
    assert.match(table.stdout, new RegExp(`^STARTED +DEPLOYMENT +CONFIGURATION +KIND +OUTCOME +NODES +WHO\\n\\S+ \\S+ +${hist[0]!.id} +${idB} +deploy +success +3 ok +client`));
    assert.equal(table.stdout.trim().split('\n').length, 2);

    const byConfig = await c.client(['get-config', '--id', idA]);
    assert.equal(byConfig.code, 0, byConfig.stderr);
    assert.match(byConfig.stdout, /\[worker-02\]\ninstance = agent-test\nrole = WORKER\ninterface = lo\n/);
    const byDeployment = await c.client(['get-config', '--id', hist[1]!.id, '--as-json']);
    assert.equal(json<{ id: string }>(byDeployment.stdout).id, idA);
    const diff = await c.client(['diff-config', idA, 'deployed']);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, new RegExp(`^--- configuration ${idA}\\n\\+\\+\\+ configuration ${idB}\\n- \\[worker-02\\]\\n-   instance = agent-test\\n-   role = WORKER\\n-   interface = lo\\n-   metrics_port = \\d+\\n$`));
    assert.match((await c.client(['diff-config', 'deployed', idB])).stdout, /\nno differences\n$/);

    for (const [args, error] of [
      [['get-config', '--id', 'nope'], /error: no configuration or deployment nope in the history/],
      [['rollback', 'nope'], /no configuration or deployment nope in the history/],
      [['diff-config', 'nope', 'deployed'], /error: nope: no configuration or deployment nope/],
    ] as const) {
      const r = await c.client([...args]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, error);
    }
    const limit = await c.client(['get-deployments', '-n', '0']);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be a whole number from 1 to 100, got "0"/);
    assert.equal(json<History>((await c.client(['get-deployments'])).stdout).results.length, 2, 'nothing was deployed by the bad requests');

    // rollback: the last good one before the deployed one, here A.
    const rb = await c.client(['rollback']);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    assert.equal(json<{ results: { id: string } }>(rb.stdout).results.id, idA);
    await c.allRunning(MINI_NODES);
    assert.match((await c.client(['get-config', '--deployed'])).stdout, /\[worker-02\]/);

    // A deploy that does not come up returns to the last good deployment (A's rollback).
    const broken = configFile(MINI, (t) => t.replace('interface = lo', 'interface = eth9'));
    const failed = await c.client(['deploy-config', '--rollback-on-failure', broken]);
    assert.equal(failed.code, 1);
    const fj = json<{ errors: string[]; results: { id: string; nodes: Record<string, { success: boolean }> } }>(failed.stdout);
    assert.equal(fj.results.nodes['worker-01']!.success, false);
    assert.match(fj.errors.at(-1)!, new RegExp(`did not come up; rolled back to configuration ${idA} \\(last good deployment [0-9a-f-]+\\) as deployment [0-9a-f-]+: every node came up$`));
    const nodes = await c.allRunning(MINI_NODES);
    assert.ok(nodes['worker-01']!.pid);
    const after = json<History>((await c.client(['get-deployments'])).stdout).results;
    assert.deepEqual(after.slice(0, 3).map((d) => [d.kind, d.outcome, d.config_id === idA]), [['auto-rollback', 'success', true], ['deploy', 'failure', false], ['rollback', 'success', true]]);
    assert.match(after[0]!.who!, /^controller: rollback-on-failure of deployment /);
    assert.match(after[1]!.nodes['worker-01']!.error!, /exited with code 1 before checking in/);

    // The history outlives the controller.
    process.kill(c.controller.pid, 'SIGKILL');
    await c.controller.exited();
    await c.startController();
    const again = await c.client(['get-config', '--id', idB]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /\[worker-02\]/);
  });

  test('diag NODE: one .tar.gz with the crash outputs, layout, configuration, versions, ulimits and log lines; crash directories outlive a redeploy', async () => {
    const c = await cluster(['--keep-crashes', '2']);
    assert.equal((await c.client(['deploy-config', configFile(MINI)])).code, 0);
    const nodes = await c.allRunning(MINI_NODES);
    for (let i = 0; i < 3; i++) {
      const pid = (await c.nodes())['worker-01']!.pid!;
      process.kill(pid, 'SIGKILL');
      await eventually(async () => {
        const w = (await c.nodes())['worker-01'];
        return w?.state === 'RUNNING' && w.pid !== pid;
      }, 20_000, 200);
    }
    const crashes = join(c.state, AGENT, 'crashes', 'worker-01');
    const kept = readdirSync(crashes).sort();
    assert.equal(kept.length, 2, kept.join(' '));
    // A redeploy (another configuration) leaves them.
    assert.equal((await c.client(['deploy-config', configFile(MINI, (t) => `${t}\n[worker-03]\nrole = worker\ninstance = ${AGENT}\ninterface = lo\n`)])).code, 0);
    assert.deepEqual(readdirSync(crashes).sort(), kept);

    const out = join(tempDir(), 'diag.tar.gz');
    const r = await c.client(['diag', 'worker-01', '-o', out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(json<{ errors: unknown[]; results: { file: string } }>(r.stdout).results.file, out);
    const list = spawnSync('tar', ['-tzf', out], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const names = list.stdout.trim().split('\n').map((n) => n.replace(/^diag-worker-01-\d{8}T\d{6}Z\//, ''));
    for (const want of ['node.json', 'versions.txt', 'ulimits.txt', 'management-log.txt', 'node-dir/cluster-layout.json', 'node-dir/stderr',
      'controller/management-log.txt', 'controller/deployments.json', `crashes/${kept[0]}/stderr`, `crashes/${kept[1]}/exit.json`]) {
      assert.ok(names.includes(want), `${want} in ${names.join(' ')}`);
    }
    const read = (name: string): string => spawnSync('tar', ['-xzOf', out, '--wildcards', `*/${name}`], { encoding: 'utf8' }).stdout;
    assert.match(read(`crashes/${kept[1]}/exit.json`), /"signal": "SIGKILL"/);
    assert.match(read('management-log.txt'), /"node":"worker-01".*node exited unexpectedly/);
    assert.match(read('controller/management-log.txt'), /"node":"worker-01"/);
    assert.match(read('ulimits.txt'), /^# node process \d+\nLimit/);
    assert.equal(json<{ node: { name: string; interface: string } }>(read('node.json')).node.interface, 'lo');
    assert.ok(!names.some((n) => n.includes('..')));

    const unknown = await c.client(['diag', 'nobody', '-o', join(tempDir(), 'x.tar.gz')]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no diagnostics of nobody received: controller: unknown cluster node/);
    assert.ok(nodes.manager!.pid);
  });
});
