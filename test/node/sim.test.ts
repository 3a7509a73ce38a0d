import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Endpoint, decodeEvent, type ZeekEvent } from '../../src/protocol/index.js';
import { NodeApi, TOPIC_NODE, nodeTopic, type Result } from '../../src/management/index.js';
import type { ClusterLayout } from '../../src/management/cluster-layout.js';
import { SIM_SCRIPT } from '../../src/agent/runtimes/sim.js';
import { eventually, freePort, removeTempDirs, spawnProc, stopAll, tempDir, type Proc } from '../helpers/process.js';

const endpoints: Endpoint[] = [];
const servers: Server[] = [];
after(async () => {
  await stopAll();
  await Promise.all(endpoints.map((e) => e.close()));
  for (const s of servers) s.close();
  removeTempDirs();
});

interface SimNode { proc: Proc; mgmtPort: number; dir: string }

async function layoutFile(brokerPort: number, metricsPort = 9000, zeromq?: { xpub: number; xsub: number }, workerMetricsPort?: number): Promise<{ dir: string; layout: ClusterLayout }> {
  const dir = tempDir('zeek-mgmt-sim-');
  const layout: ClusterLayout = {
    configId: 'cfg',
    ...(zeromq ? { backend: 'zeromq', xpubPort: zeromq.xpub, xsubPort: zeromq.xsub } : { backend: 'broker' }),
    nodes: [
      { name: 'logger', role: 'LOGGER', ip: '127.0.0.1', port: { number: await freePort(), protocol: 'tcp' }, manager: 'manager' },
      { name: 'manager', role: 'MANAGER', ip: '127.0.0.1', port: { number: brokerPort, protocol: 'tcp' }, metricsPort: { number: metricsPort, protocol: 'tcp' } },
      { name: 'worker-1', role: 'WORKER', ip: '127.0.0.1', interface: 'lo', manager: 'manager', ...(workerMetricsPort ? { metricsPort: { number: workerMetricsPort, protocol: 'tcp' as const } } : {}) },
    ],
  };
  writeFileSync(join(dir, 'cluster-layout.json'), JSON.stringify(layout));
  return { dir, layout };
}

async function startSim(name: string, options: { env?: NodeJS.ProcessEnv; args?: string[]; brokerPort?: number; metricsPort?: number; workerMetricsPort?: number; zeromq?: { xpub: number; xsub: number } } = {}): Promise<SimNode> {
  const { dir } = await layoutFile(options.brokerPort ?? await freePort(), options.metricsPort ?? await freePort(), options.zeromq, options.workerMetricsPort);
  const mgmtPort = await freePort();
  const proc = spawnProc(process.execPath, [SIM_SCRIPT, '--layout', 'cluster-layout.json', ...(options.args ?? [])], {
    cwd: dir, env: { CLUSTER_NODE: name, ZEEK_MGMT_NODE_PORT: String(mgmtPort), ZEEK_MANAGEMENT_SPOOL_DIR: '/var/spool/zeek', ...options.env },
  });
  return { proc, mgmtPort, dir };
}

/** Connects like the agent does and collects what the node sends. */
interface AgentSide { ep: Endpoint; peerId: string; got: ZeekEvent[]; topic: string }

async function agentSide(port: number, node = 'manager'): Promise<AgentSide> {
  const ep = new Endpoint();
  endpoints.push(ep);
  const got: ZeekEvent[] = [];
  ep.subscribe(TOPIC_NODE, (d) => got.push(decodeEvent(d.value)));
  const topic = nodeTopic(node);
  const link = ep.connect({ host: '127.0.0.1', port, subscriptions: [topic], remoteTopics: [topic], retry: { initialMs: 50, maxMs: 200 } });
  const peer = await link.ready();
  return { ep, peerId: peer.id, got, topic };
}

async function getIdValue(side: AgentSide, id: string, reqid = `r-${id}`): Promise<Result> {
  side.ep.publishEvent(side.topic, NodeApi.nodeDispatch.request.make(reqid, ['get_id_value', id], []), { to: side.peerId });
  const ev = await eventually(() => side.got.find((e) => e.name === NodeApi.nodeDispatch.response.name && NodeApi.nodeDispatch.response.decode(e)[0] === reqid), 5000);
  return NodeApi.nodeDispatch.response.decode(ev)[1];
}

/** Whether nothing listens on a port of 127.0.0.1 (a bind succeeds). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Holds a port for the rest of the file, so the node under test finds it taken. */
async function occupy(port: number): Promise<void> {
  const holder = createServer();
  servers.push(holder);
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
}

const json = (r: Result): unknown => (r.data?.type === 'string' ? JSON.parse(r.data.value) : undefined);

describe('simulated node', () => {
  test('checks in and answers get_id_value like Zeek', async () => {
    const [brokerPort, metricsPort] = [await freePort(), await freePort()];
    const { proc, mgmtPort } = await startSim('manager', { brokerPort, metricsPort, args: ['policy/tuning/json-logs'] });
    await proc.waitFor(/is live/);
    const side = await agentSide(mgmtPort);
    await eventually(() => side.got.some((e) => e.name === NodeApi.notifyNodeHello.name && NodeApi.notifyNodeHello.decode(e)[0] === 'manager'), 3000);

    assert.deepEqual(json(await getIdValue(side, 'Cluster::node')), 'manager');
    const nodes = json(await getIdValue(side, 'Cluster::nodes')) as Record<string, unknown>;
    assert.deepEqual(nodes.manager, { node_type: 'Cluster::MANAGER', ip: '127.0.0.1', zone_id: '', p: { port: brokerPort, proto: 'tcp' }, metrics_port: { port: metricsPort, proto: 'tcp' } });
    assert.deepEqual(nodes['worker-1'], { node_type: 'Cluster::WORKER', ip: '127.0.0.1', zone_id: '', p: { port: 0, proto: 'unknown' }, manager: 'manager' });
    assert.equal(json(await getIdValue(side, 'LogAscii::use_json')), true);
    assert.equal(json(await getIdValue(side, 'Log::default_rotation_interval')), '0 secs', 'a manager with a logger does not rotate');
    assert.equal(json(await getIdValue(side, 'Log::default_rotation_dir')), '/var/spool/zeek/log-queue');
    assert.equal(json(await getIdValue(side, 'zeek_version')), 'zeek_version');
    assert.equal((json(await getIdValue(side, 'Version::info')) as { version_string: string }).version_string, '8.0.0');
    const unknown = await getIdValue(side, 'Nope::nothing');
    assert.deepEqual([unknown.success, unknown.error, unknown.node], [false, 'unknown id', 'manager']);

    // A dispatch for other nodes is not answered.
    side.ep.publishEvent(side.topic, NodeApi.nodeDispatch.request.make('not-me', ['get_id_value', 'Cluster::node'], ['logger']), { to: side.peerId });
    await getIdValue(side, 'Cluster::node', 'after');
    assert.equal(side.got.some((e) => NodeApi.nodeDispatch.response.name === e.name && NodeApi.nodeDispatch.response.decode(e)[0] === 'not-me'), false);

    // The Broker port is really taken.
    const probe = createServer();
    servers.push(probe);
    await assert.rejects(new Promise((resolve, reject) => { probe.once('error', reject); probe.listen(brokerPort, '127.0.0.1', () => resolve(undefined)); }), /EADDRINUSE/);

    // Its metrics port serves Prometheus text.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^zeek_version_info\{node="manager",version_number="8\.0\.0"\} 1$/m);
    assert.doesNotMatch(metrics, /packets/, 'a manager captures nothing');

    process.kill(proc.pid, 'SIGTERM');
    assert.equal(await proc.exited(), 0);
  });

  test('fails like Zeek on an interface that does not exist', async () => {
    const { proc } = await startSim('worker-1', { args: ['-i', 'eth9'] });
    assert.equal(await proc.exited(), 1);
    assert.equal(proc.stderr(), 'fatal error: problem with interface eth9 (pcap_error: No such device exists (pcap_activate))\n');
  });

  test('a Broker port already in use is fatal', async () => {
    const brokerPort = await freePort();
    await occupy(brokerPort);
    const { proc } = await startSim('manager', { brokerPort });
    assert.equal(await proc.exited(), 1);
    assert.match(proc.stderr(), new RegExp(`^fatal error: Broker::listen: failed to listen on 127\\.0\\.0\\.1:${brokerPort} \\(.*EADDRINUSE`));
  });

  test('ZeroMQ: the manager binds its XPUB/XSUB proxy ports, not its own port; a taken proxy port is fatal', async () => {
    const [brokerPort, xpub, xsub] = [await freePort(), await freePort(), await freePort()];
    const { proc } = await startSim('manager', { brokerPort, zeromq: { xpub, xsub } });
    await proc.waitFor(/is live/);
    assert.equal(await bindable(brokerPort), true, 'a ZeroMQ manager with a logger does not listen on its own port');
    assert.equal(await bindable(xpub), false);
    assert.equal(await bindable(xsub), false);
    await proc.stop();
    await occupy(xsub);
    const taken = await startSim('manager', { brokerPort, zeromq: { xpub, xsub } });
    assert.equal(await taken.proc.exited(), 1);
    assert.match(taken.proc.stderr(), new RegExp(`^fatal error: ZeroMQ: xsub proxy socket: failed to listen on 127\\.0\\.0\\.1:${xsub}`));
  });

  test('a metrics port already in use only warns, as in Zeek', async () => {
    const metricsPort = await freePort();
    await occupy(metricsPort);
    const { proc } = await startSim('manager', { metricsPort });
    await proc.waitFor(/is live/);
    await proc.waitFor(new RegExp(`warning: could not open the metrics endpoint on 127\\.0\\.0\\.1:${metricsPort} \\(.*EADDRINUSE`));
    assert.equal(proc.child.exitCode, null);
  });

  test('crash, slow start, hang and ignored SIGTERM are switched on by env', async () => {
    const crashing = await startSim('logger', { env: { ZEEK_MGMT_SIM_CRASH_AFTER: '0.3' } });
    assert.equal(await crashing.proc.exited(), 1);
    assert.match(crashing.proc.stderr(), /fatal error: simulated crash after 300 ms \(ZEEK_MGMT_SIM_CRASH_AFTER\)/);

    const slow = await startSim('logger', { env: { ZEEK_MGMT_SIM_START_DELAY: '0.8' } });
    const t0 = Date.now();
    await slow.proc.waitFor(/is live/);
    assert.ok(Date.now() - t0 >= 600, 'listens only after the delay');

    const hung = await startSim('worker-1', { args: ['-i', 'lo'], env: { ZEEK_MGMT_SIM_HANG: '1', ZEEK_MGMT_SIM_IGNORE_SIGTERM: '1' } });
    await hung.proc.waitFor(/hanging at start/);
    const ep = new Endpoint();
    endpoints.push(ep);
    await assert.rejects(ep.connect({ host: '127.0.0.1', port: hung.mgmtPort, retry: false }).ready(), /refused/);
    process.kill(hung.proc.pid, 'SIGTERM');
    // The node says it got the signal: once it has, an exit on SIGTERM would have happened.
    await hung.proc.waitFor(/ignoring SIGTERM/);
    assert.equal(hung.proc.child.exitCode, null, 'SIGTERM ignored');
    process.kill(hung.proc.pid, 'SIGKILL');
    assert.equal(await hung.proc.exited(), 'SIGKILL');
  });

  test('bad start parameters are fatal with a reason', async () => {
    const { proc } = await startSim('not-in-layout');
    assert.equal(await proc.exited(), 1);
    assert.equal(proc.stderr(), "fatal error: 'not-in-layout' is not a valid node in the Cluster::nodes configuration\n");
    const bad = await startSim('logger', { env: { ZEEK_MGMT_SIM_CRASH_AFTER: 'later' } });
    assert.equal(await bad.proc.exited(), 1);
    assert.match(bad.proc.stderr(), /ZEEK_MGMT_SIM_CRASH_AFTER must be a number of seconds, got "later"/);
    const drops = await startSim('worker-1', { args: ['-i', 'lo'], env: { ZEEK_MGMT_SIM_DROP_PERCENT: '150' } });
    assert.equal(await drops.proc.exited(), 1);
    assert.match(drops.proc.stderr(), /ZEEK_MGMT_SIM_DROP_PERCENT must be a number from 0 to 100, got "150"/);
  });

  test('a worker reading an interface serves the capture counters Zeek\'s misc/stats publishes; other roles do not', async () => {
    const metricsPort = await freePort();
    const worker = await startSim('worker-1', { args: ['-i', 'lo'], workerMetricsPort: metricsPort, env: { ZEEK_MGMT_SIM_PPS: '100000', ZEEK_MGMT_SIM_DROP_PERCENT: '5' } });
    const text = await eventually(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), 10_000, 100);
    const value = (name: string): number => Number(new RegExp(`^${name}\\{node="worker-1"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    const [received, dropped] = [value('zeek_net_received_packets_total'), value('zeek_net_dropped_packets_total')];
    assert.ok(received > 0 && Math.abs(dropped / (received + dropped) - 0.05) < 0.01, text);
    process.kill(worker.proc.pid, 'SIGTERM');
    assert.equal(await worker.proc.exited(), 0);
  });
});
