/**
 * Requests the controller relays to agents and answers from their replies:
 * get_nodes (every known agent), get_id_value and restart (the agents hosting
 * the named nodes of the deployed configuration, with `unknown cluster node`
 * Results for names that are not in it).
 */
import { AgentApi, ControllerApi, failure, type Result } from '../management/index.js';
import type { ZeekEvent } from '../protocol/index.js';
import type { ControllerContext } from './context.js';

export function getNodes(ctx: ControllerContext, reqid: string): void {
  const names = ctx.instances.knownNames();
  if (names.length === 0) {
    ctx.toClients(ControllerApi.getNodesResponse.make(reqid, [failure(reqid, 'no instances connected')]), { reqid });
    return;
  }
  if (alreadyPending(ctx, reqid, (r) => ControllerApi.getNodesResponse.make(reqid, r))) return;
  const req = ctx.gather.start(reqid, 'get_nodes');
  ctx.gather.fanOut(req, names, (id) => AgentApi.getNodesRequest.make(id));
}

export type NodeRequestKind = 'get_id_value' | 'restart';

const respond = (kind: NodeRequestKind, reqid: string, results: Result[]) =>
  (kind === 'restart' ? ControllerApi.restartResponse.make(reqid, results) : ControllerApi.getIdValueResponse.make(reqid, results));

/** get_id_value (with `action`) and restart: relay to the agents hosting the nodes. */
export function relayToNodes(ctx: ControllerContext, reqid: string, kind: NodeRequestKind, nodes: readonly string[], action: string[] = []): void {
  const send = (results: Result[]): void => ctx.toClients(respond(kind, reqid, results), { reqid, results: results.length });
  // The original's special cases, in its order and words.
  if (kind === 'restart' && ctx.instances.knownNames().length === 0) return send([failure(reqid, 'no instances connected')]);
  const deployed = ctx.states.deployed;
  if (!deployed || deployed.instances.length === 0) {
    return send([failure(reqid, kind === 'restart' ? 'no active cluster deployment' : 'no cluster deployed')]);
  }
  if (alreadyPending(ctx, reqid, (r) => respond(kind, reqid, r))) return;
  const inCluster = new Set(deployed.nodes.map((n) => n.name));
  const requested = [...new Set(nodes)].sort();
  const unknown = requested.filter((n) => !inCluster.has(n));
  const wanted = requested.filter((n) => inCluster.has(n));
  const req = ctx.gather.start(reqid, kind, unknown.map((node) => failure(reqid, 'unknown cluster node', { node })));
  if (requested.length > 0 && wanted.length === 0) return ctx.gather.finish(req);
  const hosts = [...new Set(deployed.nodes.filter((n) => requested.length === 0 || wanted.includes(n.name)).map((n) => n.instance))].sort();
  ctx.gather.fanOut(req, hosts, (id) => (kind === 'restart'
    ? AgentApi.restartRequest.make(id, wanted)
    : AgentApi.nodeDispatchRequest.make(id, action, wanted)));
}

/** A client reusing the id of a request still in progress gets an error, the first keeps going. */
export function alreadyPending(ctx: ControllerContext, reqid: string, make: (results: Result[]) => ZeekEvent): boolean {
  if (!ctx.gather.pending(reqid)) return false;
  ctx.toClients(make([failure(reqid, `request ${reqid} is already pending`)]), { reqid });
  return true;
}
