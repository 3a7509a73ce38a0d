#!/usr/bin/env node
/**
 * The simulated Zeek cluster node: behaves like a Zeek node towards its
 * agent. It checks its interface like libpcap would, listens on its Broker
 * port (non-workers) and on its management WebSocket port, says
 * `notify_node_hello` when the agent's session comes up, and answers
 * `node_dispatch_request` (`get_id_value`). Faults are switched on through
 * the environment (see sim-options.ts). Imports stay minimal so it starts fast.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Endpoint } from '../protocol/endpoint.js';
import { NodeApi, nodeTopic } from '../management/api.js';
import { EventDispatcher } from '../management/dispatch.js';
import { anyone } from '../management/access.js';
import { backendPortsOf, parseClusterLayout } from '../management/cluster-layout.js';
import { missingScript } from '../management/script-paths.js';
import { parseSimOptions, SIM_ENV, type SimOptions } from './sim-options.js';
import { answerDispatch } from './dispatch.js';
import { SIM_ZEEK_VERSION } from './globals.js';
import { defaultPacketRate, serveMetrics } from './metrics.js';

function fatal(message: string): never {
  process.stderr.write(`fatal error: ${message}\n`);
  process.exit(1);
}

/** libpcap's notion of an interface: `af_packet::eth0` and the like name eth0. */
function interfaceExists(name: string): boolean {
  const bare = name.includes('::') ? name.slice(name.lastIndexOf('::') + 2) : name;
  return bare !== '' && !bare.includes('/') && existsSync(`/sys/class/net/${bare}`);
}

function listenBroker(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((sock) => sock.destroy());
    srv.once('error', reject);
    srv.listen(port, host, () => resolve(srv));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const parsed = parseSimOptions(process.argv.slice(2), process.env);
  if (!parsed.ok) fatal(parsed.error);
  const opts: SimOptions = parsed.value;

  let layoutText: string;
  try {
    layoutText = readFileSync(opts.layoutFile, 'utf8');
  } catch (err) {
    fatal(`can't open cluster layout ${opts.layoutFile}: ${(err as Error).message}`);
  }
  const read = parseClusterLayout(layoutText);
  if (!read.ok) fatal(`bad cluster layout ${opts.layoutFile}: ${read.error}`);
  const layout = read.value;
  const self = layout.nodes.find((n) => n.name === opts.node);
  if (!self) fatal(`'${opts.node}' is not a valid node in the Cluster::nodes configuration`);
  for (const script of opts.scripts) {
    const problem = missingScript(script, process.cwd());
    if (problem) fatal(problem.replace(/^fatal error: /, ''));
  }
  if (opts.parseOnly) process.exit(0);

  const closers: (() => void)[] = [];
  const stop = (): void => {
    for (const close of closers) close();
    process.exit(0);
  };
  process.on('SIGTERM', () => {
    if (!opts.ignoreTerm) stop();
    else process.stderr.write(`ignoring SIGTERM (${SIM_ENV.ignoreTerm})\n`);
  });
  process.on('SIGINT', stop);

  if (opts.interface !== undefined) {
    if (!interfaceExists(opts.interface)) {
      fatal(`problem with interface ${opts.interface} (pcap_error: No such device exists (pcap_activate))`);
    }
    process.stderr.write(`listening on ${opts.interface}\n`);
  }

  if (opts.hang) {
    process.stdout.write(`node ${opts.node}: hanging at start (${SIM_ENV.hang})\n`);
    setInterval(() => undefined, 1 << 30);
    return;
  }
  if (opts.startDelayMs > 0) await sleep(opts.startDelayMs);

  // What the real node binds: its own port (Broker: every role with one; ZeroMQ: the logger's log sink), and on a ZeroMQ manager the XPUB/XSUB proxy.
  const listens = layout.backend === 'broker' || self.role === 'LOGGER' || (self.role === 'MANAGER' && !layout.nodes.some((n) => n.role === 'LOGGER'));
  const binds: { what: string; port: number }[] = [];
  if (self.port && self.role !== 'WORKER' && listens) binds.push({ what: layout.backend === 'broker' ? 'Broker::listen' : 'ZeroMQ: log sink', port: self.port.number });
  for (const [name, port] of Object.entries(backendPortsOf(layout, self.role))) binds.push({ what: `ZeroMQ: ${name} proxy socket`, port });
  for (const { what, port } of binds) {
    const host = process.env.ZEEK_DEFAULT_LISTEN_ADDRESS || self.ip;
    try {
      const srv = await listenBroker(host, port);
      closers.push(() => srv.close());
    } catch (err) {
      fatal(`${what}: failed to listen on ${host}:${port} (${(err as Error).message})`);
    }
  }

  if (self.metricsPort) {
    const capture = self.role === 'WORKER' && opts.interface !== undefined
      ? { packetRate: opts.packetRate ?? defaultPacketRate(opts.node), dropPercent: opts.dropPercent }
      : undefined;
    const metrics = serveMetrics(process.env.ZEEK_DEFAULT_LISTEN_ADDRESS || self.ip, self.metricsPort.number, opts.node, SIM_ZEEK_VERSION, capture, (msg) => process.stderr.write(`${msg}\n`));
    closers.push(() => metrics.close());
  }

  const endpoint = new Endpoint({ id: `${opts.node}-${process.pid}` });
  const context = { node: opts.node, layout, scripts: opts.scripts, logQueueDir: opts.logQueueDir };
  const topic = nodeTopic(opts.node);
  // The management listener is on loopback and answers only reads (get_id_value): see README "Security".
  const dispatcher = new EventDispatcher([NodeApi], (problem) => {
    process.stderr.write(`error: invalid management event from ${problem.from.id}: ${problem.error}\n`);
  }, anyone).serve(NodeApi.nodeDispatch, (reqid, [action, nodes], from) => {
    if (opts.mute || (nodes.length > 0 && !nodes.includes(opts.node))) return;
    endpoint.publishEvent(topic, NodeApi.nodeDispatch.respond(reqid, [answerDispatch(context, reqid, action)]), { to: from.id });
  });
  endpoint.subscribe(topic, dispatcher.handle);
  endpoint.on('peer-up', (peer) => {
    endpoint.publishEvent(topic, NodeApi.notifyNodeHello.make(opts.node), { to: peer.id });
  });
  try {
    await endpoint.listen({ host: opts.mgmtHost, port: opts.mgmtPort, name: 'management' });
  } catch (err) {
    fatal(`Cluster::listen_websocket: failed to listen on ${opts.mgmtHost}:${opts.mgmtPort} (${(err as Error).message})`);
  }
  closers.push(() => void endpoint.close());
  // Printed once listening: the agent watches stdout and dials on it.
  process.stdout.write(`node ${opts.node} (${self.role.toLowerCase()}) is live, pid ${process.pid}\n`);

  if (opts.crashAfterMs !== undefined) {
    setTimeout(() => {
      process.stderr.write(`fatal error: simulated crash after ${opts.crashAfterMs} ms (${SIM_ENV.crashAfter})\n`);
      process.exit(1);
    }, opts.crashAfterMs);
  }
}

await main();
