/**
 * The real Zeek (../shared/zeek, installed in /opt/zeek): a controller and
 * an agent as separate processes with the zeek runtime, driven by the
 * client as an operator would. Clusters of real zeek processes on loopback:
 * deploy, get-id-value, traffic in the logger's conn.log, rotation into the
 * archive, restart, crash restart, dropped nodes, a broken script, adoption
 * after kill -9 of the agent, and the Broker backend.
 */
import { agentKeyFile } from '../controller/harness.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { eventually, freePort, pidAlive, removeTempDirs, runCli, spawnCli, stopAll, tempDir, type Proc } from '../helpers/process.js';
import { realZeekSkip, requireZeek } from '../helpers/zeek.js';
import { hostCpus } from '../../src/agent/host-cpus.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const FULL = fileURLToPath(new URL('../../../examples/full.ini', import.meta.url));
const skip = realZeekSkip();
const nodePids = new Set<number>();
const servers: Server[] = [];

after(async () => {
  await stopAll();
  for (const pid of nodePids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const s of servers) s.close();
  removeTempDirs();
});

type NodeState = { state: string; pid?: number; port?: number; cluster_role: string | null; backend_ports?: Record<string, number> };

interface Cluster {
  clientPort: number;
  controller: Proc;
  agent: Proc;
  state: string;
  agentArgs: string[];
  client: (args: string[]) => ReturnType<typeof runCli>;
  nodes: () => Promise<Record<string, NodeState>>;
}

async function startCluster(): Promise<Cluster> {
  const zeek = requireZeek();
  const [clientPort, agentPort, listenPort, portStart, metricsStart] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const state = tempDir('zeek-mgmt-realzeek-');
  const controller = spawnCli(['controller', '--name', 'controller', '--client-port', String(clientPort), '--agent-port', String(agentPort), '--state-dir', state,
    '--port-start', String(portStart), '--metrics-port-start', String(metricsStart), '--request-timeout', '40', '--log-level', 'info']);
  await controller.waitFor(/controller is live/);
  const agentArgs = ['agent', '--name', 'agent-test', '--key-file', agentKeyFile(join(state, 'controller'), 'agent-test'), '--listen-port', String(listenPort), '--controller', `127.0.0.1:${agentPort}`,
    '--state-dir', state, '--runtime', 'zeek', '--zeek-path', zeek, '--node-timeout', '25', '--stop-grace', '5', '--log-level', 'info'];
  const agent = spawnCli(agentArgs);
  await agent.waitFor(/agent is live/);
  const client = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['--controller', `127.0.0.1:${clientPort}`, '--set', 'client.request_timeout_secs=60', ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' }, timeoutMs: 90_000 });
  await eventually(async () => Object.keys(JSON.parse((await client(['get-instances'])).stdout) as object).includes('agent-test'), 15000, 200);
  const nodes = async (): Promise<Record<string, NodeState>> => {
    const r = await client(['get-nodes']);
    const json = JSON.parse(r.stdout) as { results: Record<string, Record<string, NodeState>> };
    const all = Object.assign({}, ...Object.values(json.results)) as Record<string, NodeState>;
    const cluster = Object.fromEntries(Object.entries(all).filter(([, s]) => s.cluster_role !== null));
    for (const s of Object.values(cluster)) if (s.pid) nodePids.add(s.pid);
    return cluster;
  };
  return { clientPort, controller, agent, state, agentArgs, client, nodes };
}

/** A configuration file: the example with every node in instance agent-test and the extra lines. */
function configFile(example: string, extra = ''): string {
  const text = readFileSync(example, 'utf8').replace(/^role = (\w+)$/gm, 'role = $1\ninstance = agent-test');
  const file = join(tempDir(), 'cluster.ini');
  writeFileSync(file, `${text}\n${extra}`);
  return file;
}

async function allRunning(c: Cluster, names: string[]): Promise<Record<string, NodeState>> {
  return eventually(async () => {
    const nodes = await c.nodes();
    return names.every((n) => nodes[n]?.state === 'RUNNING' && nodes[n]?.pid) && Object.keys(nodes).length === names.length ? nodes : undefined;
  }, 40_000, 250);
}

const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

async function idValue(c: Cluster, id: string, ...nodes: string[]): Promise<Record<string, unknown>> {
  const r = await c.client(['get-id-value', id, ...nodes]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return (JSON.parse(r.stdout) as { results: Record<string, unknown> }).results;
}

/** An HTTP server on loopback and `count` requests to it: connections the workers on `lo` see. */
async function makeTraffic(count: number): Promise<number> {
  const port = await freePort();
  const server = createServer((_req, res) => res.end('zeek-mgmt test traffic\n'));
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/req-${i}`, agent: false }, (res) => { res.resume(); res.on('end', () => resolve()); });
      req.on('error', reject);
      req.end();
    });
  }
  return port;
}

describe('real Zeek', { skip }, () => {
  let c: Cluster;
  before(async () => { c = await startCluster(); });

  test('check parses every node with the real zeek and starts nothing', async () => {
    const broken = join(tempDir(), 'broken.zeek');
    writeFileSync(broken, 'event zeek_init() { print no_such_identifier; }\n');
    const ok = await c.client(['check', configFile(MINI)]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const file = configFile(MINI);
    writeFileSync(file, readFileSync(file, 'utf8').replace('[manager]\nrole = manager\n', `[manager]\nrole = manager\nscripts = ${broken}\n`));
    const bad = await c.client(['check', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`manager: node manager failed the script check: error in ${broken.replace(/[.]/g, '\\.')}, line 1: unknown identifier no_such_identifier`));
    assert.deepEqual(await c.nodes(), {}, 'nothing was started');
  });

  test('mini: every node a real zeek process, RUNNING, with the ZeroMQ proxy ports assigned', async () => {
    const rot = join(tempDir(), 'rotate-fast.zeek');
    writeFileSync(rot, 'redef Log::default_rotation_interval = 2 sec;\n');
    const file = configFile(MINI);
    writeFileSync(file, readFileSync(file, 'utf8').replace('[logger]\nrole = logger\n', `[logger]\nrole = logger\nscripts = ${rot}\n`));
    const deployed = await c.client(['deploy-config', file]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const nodes = await allRunning(c, ['logger', 'manager', 'worker-01', 'worker-02']);
    for (const s of Object.values(nodes)) assert.equal(comm(s.pid!), 'zeek');
    const { xpub, xsub } = nodes.manager!.backend_ports!;
    assert.ok(xpub && xsub && xpub !== xsub, 'the manager shows its XPUB/XSUB ports');

    const config = await c.client(['get-config', '--deployed']);
    assert.match(config.stdout, new RegExp(`\\[cluster\\]\\nbackend = zeromq\\nxpub_port = ${xpub}\\nxsub_port = ${xsub}\\n`));

    assert.deepEqual(await idValue(c, 'Cluster::node'), { logger: 'logger', manager: 'manager', 'worker-01': 'worker-01', 'worker-02': 'worker-02' });
    assert.deepEqual(await idValue(c, 'Broker::default_port', 'worker-01'), { 'worker-01': { port: 9999, proto: 'tcp' } });
    assert.deepEqual(await idValue(c, 'Cluster::worker_pool_spec', 'logger'),
      { logger: { exclusive: false, node_type: 'Cluster::WORKER', topic: 'zeek.cluster.pool.worker' } }, 'a record-valued global, from the logger reached over the cluster');
    const layout = (await idValue(c, 'Cluster::nodes', 'manager')).manager as Record<string, { node_type: string; p: { port: number } }>;
    assert.deepEqual(Object.keys(layout).sort(), ['logger', 'manager', 'worker-01', 'worker-02']);
    assert.equal(layout.logger!.p.port, nodes.logger!.port);
    assert.equal(layout['worker-01']!.node_type, 'Cluster::WORKER');
    const unknown = await c.client(['get-id-value', 'No::such_thing', 'manager']);
    assert.equal(unknown.code, 1);
    assert.deepEqual(JSON.parse(unknown.stdout), { errors: [{ error: 'unknown id', source: 'manager' }], results: {} });
  });

  test('the nodes peer: the logger hears every node and logs the traffic on lo, and rotated logs are archived', async () => {
    // cluster.log rotates every 2 s here: read the current file and the archive.
    const current = (): string => { try { return readFileSync(join(c.state, 'agent-test', 'nodes', 'logger', 'cluster.log'), 'utf8'); } catch { return ''; } };
    await eventually(() => {
      const log = current() + archivedText(c.state, 'cluster');
      return ['manager', 'worker-01', 'worker-02'].every((n) => log.includes(`got hello from ${n}`));
    }, 20_000, 250);
    const port = await makeTraffic(5);
    const seen = await eventually(() => {
      const text = archivedText(c.state, 'conn');
      return text.includes(`\t127.0.0.1\t${port}\ttcp`) ? text : undefined;
    }, 30_000, 500);
    assert.match(seen, /#path\tconn/);
    const day = readdirSync(join(c.state, 'agent-test', 'spool', 'logs'));
    assert.ok(day.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)), `archive day directories: ${day.join(', ')}`);
    const names = readdirSync(join(c.state, 'agent-test', 'spool', 'logs', day[0]!));
    assert.ok(names.some((n) => /^conn\.\d{2}:\d{2}:\d{2}-\d{2}:\d{2}:\d{2}\.log\.gz$/.test(n)), names.join(', '));
  });

  test('a redeploy skips the check the running nodes vouch for; a script changed since is checked again', async () => {
    const before = await allRunning(c, ['logger', 'manager', 'worker-01', 'worker-02']);
    const script = join(tempDir(), 'site.zeek');
    writeFileSync(script, 'global site_marker = 1;\n');
    const file = configFile(MINI);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(role = worker\n)/g, `$1scripts = ${script}\n`));
    assert.equal((await c.client(['deploy-config', file])).code, 0);
    const first = await allRunning(c, ['logger', 'manager', 'worker-01', 'worker-02']);
    assert.notEqual(first['worker-01']!.pid, before['worker-01']!.pid);

    const listed = join(c.state, 'agent-test', 'nodes', 'worker-01', 'loaded-scripts');
    await eventually(() => existsSync(listed) && readFileSync(listed, 'utf8').includes(script), 5000, 50);
    const again = await c.client(['deploy-config', file]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(c.agent.stderr(), /"vouchedBy":"(worker-01|worker-02)".*script check skipped/);

    writeFileSync(script, 'global site_marker = undefined_identifier;\n');
    const broken = await c.client(['deploy-config', file]);
    assert.equal(broken.code, 1, 'the changed script is parsed again, and fails');
    const bj = JSON.parse(broken.stdout) as { results: { nodes: Record<string, { stderr?: string }> } };
    assert.match(bj.results.nodes['worker-01']!.stderr ?? '', /unknown identifier undefined_identifier/);
    const still = await c.nodes();
    assert.equal(still['worker-02']!.state, 'RUNNING');
    writeFileSync(script, 'global site_marker = 2;\n');
  });

  test('restart, crash restart, a broken script that changes nothing, and a dropped node', async () => {
    const before = await c.nodes();
    const r = await c.client(['restart', 'worker-01']);
    assert.deepEqual(JSON.parse(r.stdout), { errors: [], results: { 'worker-01': true } });
    const restarted = await allRunning(c, ['logger', 'manager', 'worker-01', 'worker-02']);
    assert.notEqual(restarted['worker-01']!.pid, before['worker-01']!.pid);
    for (const n of ['logger', 'manager', 'worker-02']) assert.equal(restarted[n]!.pid, before[n]!.pid, `${n} untouched`);

    process.kill(restarted['worker-02']!.pid!, 'SIGKILL');
    const back = await eventually(async () => {
      const nodes = await c.nodes();
      const w = nodes['worker-02'];
      return w?.state === 'RUNNING' && w.pid !== restarted['worker-02']!.pid ? nodes : undefined;
    }, 30_000, 250);
    assert.equal(comm(back['worker-02']!.pid!), 'zeek');
    assert.match(c.agent.stderr() + c.agent.stdout(), /node worker-02 crashed: killed by SIGKILL/);

    const broken = configFile(MINI, '');
    writeFileSync(broken, readFileSync(broken, 'utf8').replace('[worker-01]\nrole = worker\n', '[worker-01]\nrole = worker\nscripts = ./no-such-script.zeek\n'));
    const failed = await c.client(['deploy-config', broken]);
    assert.equal(failed.code, 1);
    const fj = JSON.parse(failed.stdout) as { results: { nodes: Record<string, { success: boolean; stderr?: string }> } };
    assert.equal(fj.results.nodes['worker-01']!.success, false);
    assert.match(fj.results.nodes['worker-01']!.stderr ?? '', /can't find \.\/no-such-script\.zeek/);
    const unchanged = await c.nodes();
    for (const n of Object.keys(back)) assert.equal(unchanged[n]!.pid, back[n]!.pid, `${n} kept running through the failed check`);

    const smaller = join(tempDir(), 'no-worker-02.ini');
    writeFileSync(smaller, readFileSync(configFile(MINI), 'utf8').replace(/\[worker-02\][^[]*/, ''));
    const d = await c.client(['deploy-config', smaller]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await allRunning(c, ['logger', 'manager', 'worker-01']);
    await eventually(() => !pidAlive(back['worker-02']!.pid!), 15_000, 100);
  });

  test('kill -9 of the agent: the next agent adopts the same zeek processes, no duplicates', async () => {
    const running = await allRunning(c, ['logger', 'manager', 'worker-01']);
    process.kill(c.agent.pid, 'SIGKILL');
    await c.agent.exited();
    c.agent = spawnCli(c.agentArgs);
    await c.agent.waitFor(/agent is live/);
    const adopted = await allRunning(c, ['logger', 'manager', 'worker-01']);
    for (const n of Object.keys(running)) assert.equal(adopted[n]!.pid, running[n]!.pid, `${n} adopted`);
    const zeeks = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return comm(Number(p)) === 'zeek' && readFileSync(`/proc/${p}/environ`, 'utf8').includes(`ZEEK_MANAGEMENT_STATE_DIR=${join(c.state, 'agent-test', 'nodes')}`); } catch { return false; }
    });
    assert.equal(zeeks.length, 3, `zeek processes of this agent: ${zeeks.join(', ')}`);
    assert.deepEqual(await idValue(c, 'Cluster::node', 'worker-01'), { 'worker-01': 'worker-01' });
  });

  test('full, with the Broker backend: eight real nodes', async () => {
    const file = configFile(FULL, '[cluster]\nbackend = broker\n');
    const deployed = await c.client(['deploy-config', file]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const names = ['logger', 'manager', 'proxy1', 'proxy2', 'worker1', 'worker2', 'worker3', 'worker4'];
    const nodes = await allRunning(c, names);
    assert.equal(nodes.manager!.backend_ports, undefined, 'Broker needs no proxy ports');
    const backends = await idValue(c, 'Cluster::backend');
    assert.deepEqual(Object.values(backends), names.map(() => 'Cluster::CLUSTER_BACKEND_BROKER'));
    assert.deepEqual(await idValue(c, 'Cluster::worker_pool_spec', 'proxy1'),
      { proxy1: { exclusive: false, node_type: 'Cluster::WORKER', topic: 'zeek/cluster/pool/worker' } });
  });

  test('a script bundle loaded by real nodes, lb_procs workers fanned out with AF_PACKET on lo, and Prometheus discovery of their metrics', async () => {
    const site = join(tempDir(), 'site');
    mkdirSync(site);
    // zeekctl's layout: local.zeek loads its neighbours, by path and by bare name (the bundle is on ZEEKPATH).
    writeFileSync(join(site, 'local.zeek'), '@load ./detect\n@load extra\n');
    writeFileSync(join(site, 'detect.zeek'), 'global zm_site_marker = "from-the-bundle";\n');
    writeFileSync(join(site, 'extra.zeek'), 'global zm_extra_marker = 42;\n');
    const pin = hostCpus().slice(0, 2);
    const file = join(tempDir(), 'lb.ini');
    writeFileSync(file, `[cluster]\nbackend = broker\n\n[manager]\nrole = manager\ninstance = agent-test\n\n[worker-1]\nrole = worker\ninstance = agent-test\ninterface = lo\nlb_procs = ${pin.length}\nlb_method = af_packet\npin_cpus = ${pin.join(',')}\n`);
    const deployed = await c.client(['deploy-config', '--scripts', site, file]);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const workers = pin.map((_, i) => `worker-1-${i + 1}`);
    const nodes = await allRunning(c, ['manager', ...workers]);
    assert.deepEqual(await idValue(c, 'zm_site_marker'), Object.fromEntries(['manager', ...workers].map((n) => [n, 'from-the-bundle'])));
    assert.deepEqual(await idValue(c, 'zm_extra_marker', 'manager'), { manager: 42 });
    assert.deepEqual(await idValue(c, 'AF_Packet::fanout_id'), Object.fromEntries(['manager', ...workers].map((n) => [n, 23])));
    for (const [i, w] of workers.entries()) {
      const pid = nodes[w]!.pid!;
      assert.equal(comm(pid), 'zeek');
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.deepEqual(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2), ['-i', 'af_packet::lo']);
      assert.ok(args.includes('./node-options.zeek') && args.includes('./site/local.zeek'), args.join(' '));
      assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1], String(pin[i]));
    }
    // Every worker holds an AF_PACKET socket on lo (ifindex 1): they joined one fanout group, else the second would have failed.
    const inodes = readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[4] === '1').map((f) => f[8]);
    for (const w of workers) {
      const fds = readdirSync(`/proc/${nodes[w]!.pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${nodes[w]!.pid}/fd/${fd}`); } catch { return ''; } });
      assert.ok(fds.some((l) => inodes.some((ino) => l === `socket:[${ino}]`)), `${w} has an AF_PACKET socket on lo`);
    }

    const sd = JSON.parse(await httpText(c.clientPort, '/services.json')) as { targets: string[]; labels: Record<string, string> }[];
    assert.deepEqual(sd.map((t) => t.labels.node), ['manager', ...workers]);
    const [host, port] = sd.find((t) => t.labels.node === workers[0])!.targets[0]!.split(':');
    const scraped = await eventually(async () => {
      const text = await httpText(Number(port), '/metrics', host);
      return /^zeek_/m.test(text) ? text : undefined;
    }, 15_000, 250);
    assert.match(scraped, /node="worker-1-1"/, 'the target is the worker\'s own Zeek telemetry');

    const empty = join(tempDir(), 'empty.ini');
    writeFileSync(empty, '');
    assert.equal((await c.client(['deploy-config', empty])).code, 0);
    await eventually(async () => Object.keys(await c.nodes()).length === 0, 20_000, 250);
  });
});

function httpText(port: number, path: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every archived log of `path` (e.g. conn), uncompressed and concatenated. */
function archivedText(state: string, path: string): string {
  const root = join(state, 'agent-test', 'spool', 'logs');
  if (!existsSync(root)) return '';
  let text = '';
  for (const day of readdirSync(root)) {
    for (const f of readdirSync(join(root, day))) if (f.startsWith(`${path}.`) && f.endsWith('.log.gz')) text += gunzipSync(readFileSync(join(root, day, f))).toString('utf8');
  }
  return text;
}
