/**
 * Operations beyond the original, on the simulated runtime with real
 * processes (controller and agent as separate processes, the client as an
 * operator runs it): script bundles staged with the configuration and
 * fetched by the agent over its link, zeekctl's worker expansion with CPU
 * pinning, `df`, log expiry, and the controller's Prometheus endpoints.
 */
import { agentKeyFile } from '../controller/harness.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { hostCpus } from '../../src/agent/host-cpus.js';
import { eventually, freePort, removeTempDirs, runCli, spawnCli, stopAll, tempDir, type Proc } from '../helpers/process.js';

/** Every node process seen: an agent leaves its nodes running when stopped, so the test ends them itself. */
const nodePids = new Set<number>();
let stopCluster: () => Promise<unknown> = async () => undefined;
after(async () => {
  await stopCluster().catch(() => undefined);
  await stopAll();
  for (const pid of nodePids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  removeTempDirs();
});

type NodeState = { state: string; pid?: number; cluster_role: string | null };

function httpGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('operations on the sim runtime', () => {
  let clientPort: number;
  let state: string;
  let agent: Proc;
  let agentArgs: string[];
  const client = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['--controller', `127.0.0.1:${clientPort}`, ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' }, timeoutMs: 60_000 });
  const nodes = async (): Promise<Record<string, NodeState>> => {
    const r = await client(['get-nodes']);
    const json = JSON.parse(r.stdout) as { results: Record<string, Record<string, NodeState>> };
    const cluster = Object.fromEntries(Object.entries(json.results['agent-a'] ?? {}).filter(([, s]) => s.cluster_role !== null));
    for (const s of Object.values(cluster)) if (s.pid) nodePids.add(s.pid);
    return cluster;
  };
  const running = (names: string[]): Promise<Record<string, NodeState>> => eventually(async () => {
    const n = await nodes();
    return names.every((x) => n[x]?.state === 'RUNNING') && Object.keys(n).length === names.length ? n : undefined;
  }, 20_000, 100);
  const file = (name: string, text: string): string => { const f = join(state, name); writeFileSync(f, text); return f; };

  before(async () => {
    const agentPort = await freePort();
    clientPort = await freePort();
    state = tempDir();
    const controller = spawnCli(['controller', '--name', 'controller', '--client-port', String(clientPort), '--agent-port', String(agentPort), '--state-dir', state,
      '--port-start', String(await freePort()), '--metrics-port-start', String(await freePort())]);
    await controller.waitFor(/controller is live/);
    agentArgs = ['agent', '--name', 'agent-a', '--key-file', agentKeyFile(join(state, 'controller'), 'agent-a'), '--no-listen', '--controller', `127.0.0.1:${agentPort}`, '--state-dir', state,
      '--runtime', 'sim', '--archive-interval', '1', '--log-level', 'info'];
    agent = spawnCli(agentArgs);
    await agent.waitFor(/agent is live/);
    await eventually(async () => (await client(['get-instances'])).stdout.includes('agent-a'), 10_000, 100);
    // An empty configuration stops every node, while the agent still runs.
    stopCluster = () => client(['deploy-config', file('empty.ini', '')]);
  });

  test('a script bundle: packed by the client, stored by hash, fetched by the agent in chunks, unpacked into every node and loaded', async () => {
    const site = join(state, 'site');
    mkdirSync(join(site, 'intel'), { recursive: true });
    writeFileSync(join(site, 'local.zeek'), '@load ./detect\n');
    writeFileSync(join(site, 'detect.zeek'), 'global detect_marker = 1;\n');
    // Incompressible and over two chunks, both on the upload and on the agent's fetch.
    const big = randomBytes(2_300_000);
    writeFileSync(join(site, 'intel', 'blob.dat'), big);
    const cfg = file('bundle.ini', '[scripts]\ndir = site\n\n[manager]\nrole = manager\ninstance = agent-a\n\n[w1]\nrole = worker\ninstance = agent-a\ninterface = lo\n');
    const deployed = await client(['deploy-config', cfg]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const up = await running(['manager', 'w1']);
    const staged = await client(['get-config', '--deployed']);
    const hash = /\[scripts\]\nbundle = ([0-9a-f]{64})\n/.exec(staged.stdout)?.[1];
    assert.ok(hash, staged.stdout);
    for (const n of ['manager', 'w1']) {
      const dir = join(state, 'agent-a', 'nodes', n, 'site');
      assert.equal(readFileSync(join(dir, 'detect.zeek'), 'utf8'), 'global detect_marker = 1;\n');
      assert.ok(readFileSync(join(dir, 'intel', 'blob.dat')).equals(big), `${n}: the 2.3 MB file arrived whole`);
      const args = readFileSync(`/proc/${up[n]!.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(args.includes('./site/local.zeek'), `${n} loads the bundle: ${args.join(' ')}`);
    }
    assert.deepEqual(readdirSync(join(state, 'agent-a', 'bundles')), [`${hash}.tar.gz`]);
    assert.ok((agent.stderr().match(/tx fetch_bundle_request/g) ?? []).length >= 3, 'fetched in chunks over the agent link');

    // The same directory again: nothing to upload, nothing to fetch, the same hash.
    const fetches = (agent.stderr().match(/tx fetch_bundle_request/g) ?? []).length;
    const again = await client(['-vv', 'stage-config', cfg]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`script bundle ${hash}: 3 files, 2\\.2 MiB, stored on the controller`));
    assert.match((await client(['get-config'])).stdout, new RegExp(`bundle = ${hash}`));
    assert.equal((agent.stderr().match(/tx fetch_bundle_request/g) ?? []).length, fetches);

    // get-config's output stages back as it is: the bundle by its hash.
    const back = file('back.ini', staged.stdout);
    assert.equal((await client(['stage-config', back])).code, 0);

    const unknown = await client(['stage-config', file('unknown.ini', `[scripts]\nbundle = ${'0'.repeat(64)}\n\n[manager]\nrole = manager\ninstance = agent-a\n`)]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /script bundle 0{64} is not stored on this controller; upload it first/);

    const both = await client(['stage-config', '--scripts', site, cfg]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /has a \[scripts\] section and --scripts names a directory: use one/);
  });

  test("a damaged copy of the bundle on the agent is fetched again when a node restarts", async () => {
    const [hash] = readdirSync(join(state, 'agent-a', 'bundles'));
    writeFileSync(join(state, 'agent-a', 'bundles', hash!), 'damaged');
    const fetches = (agent.stderr().match(/tx fetch_bundle_request/g) ?? []).length;
    assert.equal((await client(['restart', 'w1'])).code, 0);
    await running(['manager', 'w1']);
    assert.equal((agent.stderr().match(/tx fetch_bundle_request/g) ?? []).length, fetches + 3, 'all three chunks fetched again');
    assert.equal(readFileSync(join(state, 'agent-a', 'bundles', hash!)).subarray(0, 2).toString('hex'), '1f8b', 'a gzip archive again');
  });

  test('worker expansion: lb_procs workers with af_packet names, a fanout group and pinned CPUs; CPU problems refused', async () => {
    const cpus = hostCpus();
    const pin = cpus.slice(0, 2);
    const procs = pin.length;
    const cfg = file('lb.ini', `[manager]\nrole = manager\ninstance = agent-a\n\n[worker-1]\nrole = worker\ninstance = agent-a\ninterface = lo\nlb_procs = ${procs}\nlb_method = af_packet\npin_cpus = ${pin.join(',')}\n`);
    const deployed = await client(['deploy-config', cfg]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const names = pin.map((_, i) => `worker-1-${i + 1}`);
    const up = await running(['manager', ...names]);
    names.forEach((n, i) => {
      const args = readFileSync(`/proc/${up[n]!.pid}/cmdline`, 'utf8').split('\0');
      assert.deepEqual(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2), ['-i', 'af_packet::lo']);
      const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${up[n]!.pid}/status`, 'utf8'))?.[1];
      assert.equal(allowed, String(pin[i]), `${n} pinned to CPU ${pin[i]}`);
    });
    const config = await client(['get-config', '--deployed', '--as-json']);
    const json = JSON.parse(config.stdout) as { nodes: { name: string; options: { name: string; value: string }[] | null }[] };
    assert.deepEqual(json.nodes.filter((n) => n.name.startsWith('worker-1-')).map((n) => n.options), names.map(() => [{ name: 'AF_Packet::fanout_id', value: '23' }]));

    const reuse = await client(['stage-config', file('reuse.ini', '[manager]\nrole = manager\ninstance = agent-a\ncpu_affinity = 0\n\n[w]\nrole = worker\ninstance = agent-a\ninterface = lo\ncpu_affinity = 0\n')]);
    assert.equal(reuse.code, 1);
    assert.match(reuse.stdout, /nodes 'manager' and 'w' on instance 'agent-a' are both pinned to CPU 0/);

    const beyond = Math.max(...cpus) + 1;
    const before = await nodes();
    const far = await client(['deploy-config', file('far.ini', `[manager]\nrole = manager\ninstance = agent-a\n\n[w]\nrole = worker\ninstance = agent-a\ninterface = lo\npin_cpus = ${beyond}\n`)]);
    assert.equal(far.code, 1);
    assert.match(far.stdout, new RegExp(`invalid configuration: node \\\\"w\\\\" is pinned to CPU ${beyond}, but instance agent-a has CPUs `));
    const after = await nodes();
    assert.deepEqual(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v.pid])), Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.pid])), 'the running cluster is left as it was');
  });

  test('df: state, spool and archived logs of the instance; log_expire_days removes old archives', async () => {
    const logs = join(state, 'agent-a', 'spool', 'logs');
    const old = join(logs, '2020-02-02', 'conn.00:00:00-01:00:00.log.gz');
    mkdirSync(join(old, '..'), { recursive: true });
    writeFileSync(old, randomBytes(50_000));
    const recent = join(logs, '2020-02-03', 'conn.00:00:00-01:00:00.log.gz');
    mkdirSync(join(recent, '..'), { recursive: true });
    writeFileSync(recent, 'x');
    utimesSync(old, new Date(Date.now() - 5 * 86400_000), new Date(Date.now() - 5 * 86400_000));

    const df = await client(['df']);
    assert.equal(df.code, 0, df.stderr);
    const areas = (JSON.parse(df.stdout) as { results: Record<string, Record<string, { path: string; bytes: number; files: number; fs_free_bytes: number }>> }).results['agent-a']!;
    assert.deepEqual(Object.keys(areas).sort(), ['logs', 'spool', 'state']);
    assert.equal(areas.logs!.path, logs);
    assert.equal(areas.logs!.files, 2);
    assert.ok(areas.logs!.bytes >= 50_000, `logs ${areas.logs!.bytes} bytes`);
    assert.ok(areas.state!.files > 0 && areas.state!.bytes > 0 && areas.state!.fs_free_bytes > 0);
    const table = await client(['df', '--table']);
    assert.match(table.stdout, /^INSTANCE\s+AREA\s+USED\s+FILES\s+FS FREE\s+FS USE\s+PATH\n/);
    assert.match(table.stdout, new RegExp(`agent-a\\s+logs\\s+\\S+ KiB\\s+2\\s+`));

    const cfg = file('expire.ini', '[cluster]\nlog_expire_days = 3\n\n[manager]\nrole = manager\ninstance = agent-a\n');
    assert.equal((await client(['deploy-config', cfg])).code, 0);
    await eventually(() => !existsSync(old), 10_000, 100);
    assert.ok(existsSync(recent), 'a younger archive stays');
    assert.equal(existsSync(join(logs, '2020-02-02')), false);
  });

  test('Prometheus: /services.json lists every node with its metrics port and labels; /metrics counts requests and restarts', async () => {
    const cfg = file('prom.ini', '[manager]\nrole = manager\ninstance = agent-a\n\n[w1]\nrole = worker\ninstance = agent-a\ninterface = lo\n\n[w2]\nrole = worker\ninstance = agent-a\ninterface = lo\n');
    assert.equal((await client(['deploy-config', cfg])).code, 0);
    const up = await running(['manager', 'w1', 'w2']);
    const sd = await httpGet(clientPort, '/services.json');
    assert.equal(sd.status, 200);
    assert.equal(sd.type, 'application/json');
    const targets = JSON.parse(sd.body) as { targets: string[]; labels: Record<string, string> }[];
    const config = JSON.parse((await client(['get-config', '--deployed', '--as-json'])).stdout) as { nodes: { name: string; metrics_port: number }[] };
    assert.deepEqual(targets, config.nodes.map((n) => ({ targets: [`127.0.0.1:${n.metrics_port}`], labels: { node: n.name, role: n.name === 'manager' ? 'manager' : 'worker', instance: 'agent-a' } })));

    const count = (text: string, family: string, node: string): number => Number(new RegExp(`^${family}\\{node="${node}",instance="agent-a"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = (await httpGet(clientPort, '/metrics')).body;
    assert.equal((await client(['restart', 'w1'])).code, 0);
    process.kill(up.w2!.pid!, 'SIGKILL');
    await eventually(async () => {
      const n = await nodes();
      return n.w2?.state === 'RUNNING' && n.w2.pid !== up.w2!.pid;
    }, 20_000, 100);
    const metrics = await eventually(async () => {
      const m = await httpGet(clientPort, '/metrics');
      return count(m.body, 'zeek_mgmt_node_restarts_total', 'w2') === count(before, 'zeek_mgmt_node_restarts_total', 'w2') + 1 ? m : undefined;
    }, 10_000, 100);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(count(metrics.body, 'zeek_mgmt_node_restarts_total', 'w1'), count(before, 'zeek_mgmt_node_restarts_total', 'w1') + 1);
    assert.equal(count(metrics.body, 'zeek_mgmt_node_crashes_total', 'w2'), count(before, 'zeek_mgmt_node_crashes_total', 'w2') + 1);
    assert.equal(count(metrics.body, 'zeek_mgmt_node_crashes_total', 'w1'), count(before, 'zeek_mgmt_node_crashes_total', 'w1'), 'an asked-for restart is no crash');
    assert.match(metrics.body, /^zeek_mgmt_requests_total\{request="restart",outcome="success"\} 2$/m);
    assert.match(metrics.body, /^zeek_mgmt_request_duration_seconds_count\{request="deploy"\} [1-9]\d*$/m);
    assert.match(metrics.body, /^zeek_mgmt_agents_connected 1$/m);
    assert.equal((await httpGet(clientPort, '/nothing')).status, 404);
  });
});
