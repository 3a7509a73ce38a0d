/**
 * The README's quickstart with real processes: `zeek-mgmt up` (controller
 * and agent in one process, simulated nodes), then the client commands a
 * person would type, then Ctrl-C. Free ports and a temp state dir, so it
 * never touches 2149-2151 or the working directory.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, eventually, freePort, pidAlive, removeTempDirs, runCli, spawnCli, spawnProc, stopAll, tempDir, type Proc } from '../helpers/process.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const nodePids = new Set<number>();

after(async () => {
  await stopAll();
  for (const pid of nodePids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  removeTempDirs();
});

interface Cluster { up: Proc; client: (args: string[]) => ReturnType<typeof runCli> }

async function startUp(extra: string[] = []): Promise<Cluster> {
  const [clientPort, agentPort, listenPort, portStart, metricsStart] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const state = tempDir('zeek-mgmt-e2e-');
  const up = spawnCli(['up', '--runtime', 'sim', '--client-port', String(clientPort), '--agent-port', String(agentPort),
    '--agent-listen-port', String(listenPort), '--state-dir', state, '--port-start', String(portStart), '--metrics-port-start', String(metricsStart),
    '--request-timeout', '8', '--node-timeout', '6', '--stop-grace', '1', ...extra]);
  await up.waitFor(/Ready\. In another terminal/, 30000);
  const client = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['--controller', `127.0.0.1:${clientPort}`, '--set', 'client.request_timeout_secs=15', ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' } });
  return { up, client };
}

type NodesJson = { errors: unknown[]; results: Record<string, Record<string, { state: string; pid?: number; port?: number; cluster_role: string | null }>> };

/** The client port `up` announced. */
function clientPort(up: Proc): string {
  return /clients [^\s:]+:(\d+)/.exec(up.stderr())![1]!;
}

async function clusterNodes(client: Cluster['client']): Promise<Record<string, { state: string; pid?: number; port?: number; cluster_role: string | null }>> {
  const r = await client(['get-nodes']);
  const json = JSON.parse(r.stdout) as NodesJson;
  const all = Object.assign({}, ...Object.values(json.results)) as Record<string, { state: string; pid?: number; port?: number; cluster_role: string | null }>;
  return Object.fromEntries(Object.entries(all).filter(([, s]) => s.cluster_role !== null));
}

describe('quickstart: up, deploy-config, inspect, restart, tear down', () => {
  test('the whole README flow on the simulated runtime', async () => {
    const { up, client } = await startUp();
    assert.match(up.stderr(), /deploy-config examples\/mini\.ini/);
    // The dashboard's address, on the client port, serves the page.
    const dashboard = `http://127.0.0.1:${clientPort(up)}/`;
    assert.ok(up.stderr().includes(`zeek-mgmt up: dashboard: ${dashboard}\n`), up.stderr());
    const page = await fetch(dashboard);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/dashboard\/app\.js">/);

    const instances = await client(['get-instances']);
    assert.equal(instances.code, 0, instances.stderr);
    assert.equal(Object.keys(JSON.parse(instances.stdout) as object).length, 1);

    const monitor = spawnCli(['--controller', `127.0.0.1:${clientPort(up)}`, '-vv', 'monitor']);
    await monitor.waitFor(/info: peered with controller/);

    const deployed = await client(['deploy-config', MINI]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const dj = JSON.parse(deployed.stdout) as { errors: unknown[]; results: { id: string; nodes: Record<string, { success: boolean }> } };
    assert.deepEqual(dj.errors, []);
    assert.deepEqual(Object.keys(dj.results.nodes).sort(), ['logger', 'manager', 'worker-01', 'worker-02']);
    assert.ok(Object.values(dj.results.nodes).every((n) => n.success));

    const running = await eventually(async () => {
      const nodes = await clusterNodes(client);
      return Object.keys(nodes).length === 4 && Object.values(nodes).every((n) => n.state === 'RUNNING' && n.pid) ? nodes : undefined;
    }, 15000, 250);
    for (const n of Object.values(running)) nodePids.add(n.pid!);
    await monitor.waitFor(/cluster ready: every node of configuration [0-9a-f-]+ is RUNNING/, 10000);
    assert.match(monitor.stdout(), /node worker-01 \(worker\) PENDING -> RUNNING/);
    await monitor.stop();

    const table = await client(['get-nodes', '--table']);
    assert.match(table.stdout, /^INSTANCE +NODE +ROLE +STATE/);
    assert.match(table.stdout, /worker-02 +worker +RUNNING/);
    assert.match(table.stdout, /manager +manager +RUNNING +\d+ +\d+, xpub \d+, xsub \d+ /, 'ZeroMQ, the default backend: the manager\'s proxy ports');

    const ids = await client(['get-id-value', 'Cluster::node']);
    assert.equal(ids.code, 0, ids.stdout + ids.stderr);
    assert.deepEqual(JSON.parse(ids.stdout), { errors: [], results: { logger: 'logger', manager: 'manager', 'worker-01': 'worker-01', 'worker-02': 'worker-02' } });

    const restarted = await client(['restart', 'worker-01']);
    assert.equal(restarted.code, 0, restarted.stdout + restarted.stderr);
    assert.deepEqual(JSON.parse(restarted.stdout), { errors: [], results: { 'worker-01': true } });
    const after = await eventually(async () => {
      const nodes = await clusterNodes(client);
      const w = nodes['worker-01'];
      return w?.state === 'RUNNING' && w.pid !== running['worker-01']!.pid ? nodes : undefined;
    }, 15000, 250);
    nodePids.add(after['worker-01']!.pid!);
    assert.equal(pidAlive(running['worker-01']!.pid!), false, 'the old worker-01 process is gone');

    const config = await client(['get-config', '--deployed']);
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /\[manager\]\ninstance = agent-[^\n]+\nrole = MANAGER\nport = \d+\n/);
    assert.match(config.stdout, /\[logger\]\ninstance = agent-[^\n]+\nrole = LOGGER\nport = \d+\n/);
    assert.equal(config.stdout.match(/^port = (\d+)$/m)?.[1], String(running.logger!.port));
    assert.match(config.stdout, /\[cluster\]\nbackend = zeromq\nxpub_port = \d+\nxsub_port = \d+\n/);

    const empty = join(tempDir(), 'empty.ini');
    writeFileSync(empty, '# no nodes\n');
    const cleared = await client(['deploy-config', empty]);
    assert.equal(cleared.code, 0, cleared.stdout + cleared.stderr);
    await eventually(() => [...nodePids].every((pid) => !pidAlive(pid)), 10000, 100);
    assert.deepEqual(await clusterNodes(client), {});

    up.child.kill('SIGINT');
    assert.equal(await up.exited(), 0);
    assert.match(up.stderr(), /zeek-mgmt up: stopped/);
  });

  test('up --config deploys at once, and Ctrl-C leaves no node behind', async () => {
    const { up, client } = await startUp(['--config', MINI]);
    const dj = JSON.parse(up.stdout()) as { errors: unknown[]; results: { nodes: Record<string, { success: boolean }> } };
    assert.deepEqual(dj.errors, []);
    assert.equal(Object.keys(dj.results.nodes).length, 4);
    const nodes = await eventually(async () => {
      const n = await clusterNodes(client);
      return Object.values(n).filter((s) => s.state === 'RUNNING' && s.pid).length === 4 ? n : undefined;
    }, 15000, 250);
    for (const n of Object.values(nodes)) nodePids.add(n.pid!);

    // In a terminal, deploy-config shows progress on stderr; stdout stays the JSON.
    const out = join(tempDir(), 'deploy.json');
    const tty = spawnProc('script', ['-qec',
      `${process.execPath} ${CLI} --controller 127.0.0.1:${clientPort(up)} deploy-config ${MINI} > ${out}`, '/dev/null']);
    assert.equal(await tty.exited(), 0, tty.stdout());
    assert.match(tty.stdout(), /deploying 4 nodes: logger, manager, worker-01, worker-02/);
    assert.match(tty.stdout(), /\[4\/4 running\]/);
    assert.deepEqual((JSON.parse(readFileSync(out, 'utf8')) as { errors: unknown[] }).errors, []);

    const final = await clusterNodes(client);
    const pids = Object.values(final).map((n) => n.pid!).filter((p) => p !== undefined);
    for (const pid of pids) nodePids.add(pid);
    up.child.kill('SIGINT');
    assert.equal(await up.exited(), 0);
    assert.deepEqual(pids.filter(pidAlive), [], 'every node process stopped with up');
    const gone = await client(['--set', 'client.peering_attempts=1', 'get-nodes']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot reach the controller/);
  });
});
