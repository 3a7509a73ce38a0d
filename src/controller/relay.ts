/**
 * Requests the controller relays to agents and answers from their replies:
 * get_nodes and df (every known agent), get_id_value and restart (the agents hosting
 * the named nodes of the deployed configuration, with `unknown cluster node`
 * Results for names that are not in it), and test_timeout with state (a
 * gather that asks nobody and times out).
 */
import { AgentApi, ControllerApi, encodeNodeStatus, failure, type Request, type RequestKind, type Result } from '../management/index.js';
import { vector, type Value } from '../protocol/index.js';
import type { ControllerContext } from './context.js';
import type { Gather } from './gather.js';

/**
 * Every connected agent's nodes. An instance of the deployed configuration
 * that has no session is not left out: it gets a failed Result naming it,
 * carrying its last known nodes (as its agent last reported them, else as
 * the configuration places them, state UNKNOWN) for the client's table.
 */
export function getNodes(ctx: ControllerContext, reqid: string, to: string): void {
  const names = ctx.instances.knownNames();
  const missing = (ctx.states.deployed?.instances ?? []).map((i) => i.name).filter((n) => !names.includes(n)).sort();
  if (names.length === 0 && missing.length === 0) return ctx.respond(ControllerApi.getNodes, reqid, [failure(reqid, 'no instances connected')], to);
  const unreachable = missing.map((name) => failure(reqid, `instance ${name} is not connected`, { instance: name, data: lastKnownNodes(ctx, name) }));
  const req = startRelay(ctx, ControllerApi.getNodes, reqid, to, unreachable, (results) => {
    for (const r of results) if (r.success && r.instance !== undefined && r.data !== undefined) ctx.instances.noteNodes(r.instance, r.data);
  });
  if (req) ctx.gather.fanOut(req, names, AgentApi.getNodes);
}

function lastKnownNodes(ctx: ControllerContext, instance: string): Value {
  const reported = ctx.instances.lastNodes(instance);
  if (reported) return reported;
  const nodes = (ctx.states.deployed?.nodes ?? []).filter((n) => n.instance === instance);
  return vector(nodes.map((n) => encodeNodeStatus({
    node: n.name, state: 'UNKNOWN', mgmtRole: 'NONE', clusterRole: n.role,
    ...(n.port ? { port: n.port } : {}), ...(n.metricsPort ? { metricsPort: n.metricsPort } : {}),
  })));
}

/** Disk use of every known agent's instance. */
export function df(ctx: ControllerContext, reqid: string, to: string): void {
  const names = ctx.instances.knownNames();
  if (names.length === 0) return ctx.respond(ControllerApi.df, reqid, [failure(reqid, 'no instances connected')], to);
  const req = startRelay(ctx, ControllerApi.df, reqid, to);
  if (req) ctx.gather.fanOut(req, names, AgentApi.df);
}

export function getIdValue(ctx: ControllerContext, reqid: string, to: string, id: string, nodes: readonly string[]): void {
  const hosts = relayToNodes(ctx, ControllerApi.getIdValue, reqid, to, nodes, 'no cluster deployed');
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.nodeDispatch, ['get_id_value', id], hosts.wanted);
}

export function restart(ctx: ControllerContext, reqid: string, to: string, nodes: readonly string[]): void {
  // The original's special case, in its order and words.
  if (ctx.instances.knownNames().length === 0) return ctx.respond(ControllerApi.restart, reqid, [failure(reqid, 'no instances connected')], to);
  // A stopped node restarted by name runs again (restarting all leaves stopped nodes alone).
  const hosts = relayToNodes(ctx, ControllerApi.restart, reqid, to, nodes, 'no active cluster deployment', (all) => {
    if (nodes.length > 0) noteStopped(ctx, all, false);
  });
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.restart, hosts.wanted);
}

/** Records the nodes of successful Results as stopped by an operator, or no longer; a store failure is logged. */
export function noteStopped(ctx: ControllerContext, results: readonly Result[], stopped: boolean): void {
  const nodes = results.filter((r) => r.success && r.node !== undefined).map((r) => r.node!);
  if (nodes.length === 0) return;
  try {
    ctx.store.setStopped(nodes, stopped);
  } catch (err) {
    ctx.log.error({ nodes, err: (err as Error).message }, `could not record nodes as ${stopped ? 'stopped' : 'started'}`);
  }
}

/** Without state the original simply never answers; with state the request times out. */
export function testTimeout(ctx: ControllerContext, reqid: string, to: string, withState: boolean): void {
  if (withState) startRelay(ctx, ControllerApi.testTimeout, reqid, to);
}

/**
 * The agents hosting the named nodes (all nodes when none are named) of the
 * deployed configuration, and the gather to fan out to them; undefined when
 * the request was answered already.
 */
export function relayToNodes(ctx: ControllerContext, spec: RequestKind, reqid: string, to: string, nodes: readonly string[], noDeployment: string,
  onResults?: (all: Result[]) => void): { req: Request<Gather>; instances: string[]; wanted: string[] } | undefined {
  const deployed = ctx.states.deployed;
  if (!deployed || deployed.instances.length === 0) {
    ctx.respond(spec, reqid, [failure(reqid, noDeployment)], to);
    return undefined;
  }
  const inCluster = new Set(deployed.nodes.map((n) => n.name));
  const requested = [...new Set(nodes)].sort();
  const unknown = requested.filter((n) => !inCluster.has(n));
  const wanted = requested.filter((n) => inCluster.has(n));
  const req = startRelay(ctx, spec, reqid, to, unknown.map((node) => failure(reqid, 'unknown cluster node', { node })), onResults);
  if (!req) return undefined;
  if (requested.length > 0 && wanted.length === 0) {
    ctx.gather.finish(req);
    return undefined;
  }
  const instances = [...new Set(deployed.nodes.filter((n) => requested.length === 0 || wanted.includes(n.name)).map((n) => n.instance))].sort();
  return { req, instances, wanted };
}

/**
 * A gather whose Results become the response to the client that asked (`to`). A client reusing the
 * id of a request still in progress gets an error instead, the first keeps going.
 */
export function startRelay(ctx: ControllerContext, spec: RequestKind, reqid: string, to: string, results: Result[] = [], onResults?: (all: Result[]) => void): Request<Gather> | undefined {
  if (ctx.gather.pending(reqid)) {
    ctx.respond(spec, reqid, [failure(reqid, `request ${reqid} is already pending`)], to);
    return undefined;
  }
  return ctx.gather.start({ id: reqid, kind: spec.kind, results, onComplete: (all) => { onResults?.(all); ctx.respond(spec, reqid, all, to); } });
}
