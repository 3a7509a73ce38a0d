/**
 * Requests the controller relays to agents and answers from their replies:
 * get_nodes (every known agent), get_id_value and restart (the agents hosting
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
export function getNodes(ctx: ControllerContext, reqid: string): void {
  const names = ctx.instances.knownNames();
  const missing = (ctx.states.deployed?.instances ?? []).map((i) => i.name).filter((n) => !names.includes(n)).sort();
  if (names.length === 0 && missing.length === 0) return ctx.respond(ControllerApi.getNodes, reqid, [failure(reqid, 'no instances connected')]);
  const unreachable = missing.map((name) => failure(reqid, `instance ${name} is not connected`, { instance: name, data: lastKnownNodes(ctx, name) }));
  const req = startRelay(ctx, ControllerApi.getNodes, reqid, unreachable, (results) => {
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

export function getIdValue(ctx: ControllerContext, reqid: string, id: string, nodes: readonly string[]): void {
  const hosts = relayToNodes(ctx, ControllerApi.getIdValue, reqid, nodes, 'no cluster deployed');
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.nodeDispatch, ['get_id_value', id], hosts.wanted);
}

export function restart(ctx: ControllerContext, reqid: string, nodes: readonly string[]): void {
  // The original's special case, in its order and words.
  if (ctx.instances.knownNames().length === 0) return ctx.respond(ControllerApi.restart, reqid, [failure(reqid, 'no instances connected')]);
  const hosts = relayToNodes(ctx, ControllerApi.restart, reqid, nodes, 'no active cluster deployment');
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.restart, hosts.wanted);
}

/** Without state the original simply never answers; with state the request times out. */
export function testTimeout(ctx: ControllerContext, reqid: string, withState: boolean): void {
  if (withState) startRelay(ctx, ControllerApi.testTimeout, reqid);
}

/**
 * The agents hosting the named nodes (all nodes when none are named) of the
 * deployed configuration, and the gather to fan out to them; undefined when
 * the request was answered already.
 */
function relayToNodes(ctx: ControllerContext, spec: RequestKind, reqid: string, nodes: readonly string[], noDeployment: string):
  { req: Request<Gather>; instances: string[]; wanted: string[] } | undefined {
  const deployed = ctx.states.deployed;
  if (!deployed || deployed.instances.length === 0) {
    ctx.respond(spec, reqid, [failure(reqid, noDeployment)]);
    return undefined;
  }
  const inCluster = new Set(deployed.nodes.map((n) => n.name));
  const requested = [...new Set(nodes)].sort();
  const unknown = requested.filter((n) => !inCluster.has(n));
  const wanted = requested.filter((n) => inCluster.has(n));
  const req = startRelay(ctx, spec, reqid, unknown.map((node) => failure(reqid, 'unknown cluster node', { node })));
  if (!req) return undefined;
  if (requested.length > 0 && wanted.length === 0) {
    ctx.gather.finish(req);
    return undefined;
  }
  const instances = [...new Set(deployed.nodes.filter((n) => requested.length === 0 || wanted.includes(n.name)).map((n) => n.instance))].sort();
  return { req, instances, wanted };
}

/**
 * A gather whose Results become the client's response. A client reusing the
 * id of a request still in progress gets an error instead, the first keeps going.
 */
export function startRelay(ctx: ControllerContext, spec: RequestKind, reqid: string, results: Result[] = [], seen?: (results: Result[]) => void): Request<Gather> | undefined {
  if (ctx.gather.pending(reqid)) {
    ctx.respond(spec, reqid, [failure(reqid, `request ${reqid} is already pending`)]);
    return undefined;
  }
  return ctx.gather.start({ id: reqid, kind: spec.kind, results, onComplete: (all) => { seen?.(all); ctx.respond(spec, reqid, all); } });
}
