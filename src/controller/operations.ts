/**
 * Ours, beyond the original's requests: stop and start (the controller
 * remembers what an operator stopped), the rolling restart (one node at a
 * time, each back to RUNNING before the next), the deployment history
 * (get_deployments, get_configuration_by_id, rollback) and diag (the agent's
 * files about a node plus the controller's own log lines about it).
 */
import { join } from 'node:path';
import {
  AgentApi, ControllerApi, encodeConfiguration, failure, success, type Configuration, type Result,
} from '../management/index.js';
import { encodeDeploymentInfo, outcomesOf, type DeploymentInfo } from '../management/history.js';
import { logText } from '../management/log-search.js';
import { str, table, vector } from '../protocol/index.js';
import type { ControllerContext } from './context.js';
import type { DeployRequest } from './deploy.js';
import { noteStopped, relayToNodes, startRelay } from './relay.js';
import type { DeploymentRecord } from './store.js';

/** The most get_deployments returns. */
export const MAX_HISTORY_ROWS = 100;

export function stop(ctx: ControllerContext, reqid: string, to: string, nodes: readonly string[]): void {
  if (ctx.instances.knownNames().length === 0) return ctx.respond(ControllerApi.stop, reqid, [failure(reqid, 'no instances connected')], to);
  const hosts = relayToNodes(ctx, ControllerApi.stop, reqid, to, nodes, 'no active cluster deployment', (all) => noteStopped(ctx, all, true));
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.stop, hosts.wanted);
}

export function start(ctx: ControllerContext, reqid: string, to: string, nodes: readonly string[]): void {
  if (ctx.instances.knownNames().length === 0) return ctx.respond(ControllerApi.start, reqid, [failure(reqid, 'no instances connected')], to);
  const hosts = relayToNodes(ctx, ControllerApi.start, reqid, to, nodes, 'no active cluster deployment', (all) => noteStopped(ctx, all, false));
  if (hosts) ctx.gather.fanOut(hosts.req, hosts.instances, AgentApi.start, hosts.wanted);
}

/**
 * Restarts the named nodes (default: every worker an operator has not
 * stopped), one at a time in name order: the next only once the previous is
 * RUNNING again. A node that does not come back stops the roll: the nodes
 * after it are not touched, so capture never stops everywhere at once.
 */
export function rollingRestart(ctx: ControllerContext, reqid: string, to: string, nodes: readonly string[]): void {
  const spec = ControllerApi.rollingRestart;
  const refuse = (error: string): void => ctx.respond(spec, reqid, [failure(reqid, error)], to);
  if (ctx.instances.knownNames().length === 0) return refuse('no instances connected');
  const deployed = ctx.states.deployed;
  if (!deployed || deployed.nodes.length === 0) return refuse('no active cluster deployment');
  if (ctx.gather.pending(reqid)) return refuse(`request ${reqid} is already pending`);
  const rolling = ctx.gather.openOfKind(spec.kind);
  if (rolling) return refuse(`rolling restart ${rolling} still in progress`);
  const byName = new Map(deployed.nodes.map((n) => [n.name, n]));
  const requested = [...new Set(nodes)].sort(byNumbers);
  let stopped: Set<string>;
  try {
    stopped = new Set(ctx.store.stoppedNodes());
  } catch (err) {
    return refuse(`could not read the stopped nodes: ${(err as Error).message}`);
  }
  const order = requested.length > 0 ? requested.filter((n) => byName.has(n))
    : deployed.nodes.filter((n) => n.role === 'WORKER' && !stopped.has(n.name)).map((n) => n.name).sort(byNumbers);
  const unknown = requested.filter((n) => !byName.has(n)).map((node) => failure(reqid, 'unknown cluster node', { node }));
  // The whole roll takes as long as it takes; each step has the request timeout.
  const roll = ctx.gather.start({ id: reqid, kind: spec.kind, results: unknown, timeoutMs: Infinity, onComplete: (all) => ctx.respond(spec, reqid, all, to) });
  ctx.log.info({ reqid, order }, `rolling restart of ${order.join(', ') || 'nothing'}`);
  const step = (i: number): void => {
    const name = order[i];
    if (name === undefined) return ctx.gather.finish(roll);
    if (ctx.states.deployed?.id !== deployed.id) {
      return ctx.gather.finish(roll, order.slice(i).map((node) => failure(reqid, `node ${node} not restarted: the deployed configuration changed during the rolling restart`, { node })));
    }
    const one = ctx.gather.start({
      kind: 'restart',
      onComplete: (results) => {
        roll.state.results.push(...results.map((r) => ({ ...r, reqid })));
        const back = results.some((r) => r.node === name && r.success) && results.every((r) => r.success);
        if (back) {
          noteStopped(ctx, results, false);
          return step(i + 1);
        }
        const rest = order.slice(i + 1).map((node) => failure(reqid, `node ${node} not restarted: the rolling restart stopped because ${name} did not come back`, { node }));
        ctx.log.warn({ reqid, node: name, left: order.slice(i + 1) }, `rolling restart stopped: ${name} did not come back`);
        ctx.gather.finish(roll, rest);
      },
    });
    ctx.gather.fanOut(one, [byName.get(name)!.instance], AgentApi.restart, [name]);
  };
  step(0);
}

/** Names in order, numbers by value: worker-2 before worker-10. */
const byNumbers = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

export function getDeployments(ctx: ControllerContext, reqid: string, to: string, limit: number): void {
  const spec = ControllerApi.getDeployments;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_ROWS) {
    return ctx.respond(spec, reqid, [failure(reqid, `the number of deployments must be from 1 to ${MAX_HISTORY_ROWS}, got ${limit}`)], to);
  }
  let rows: DeploymentRecord[];
  try {
    rows = ctx.store.deployments(limit);
  } catch (err) {
    return ctx.respond(spec, reqid, [failure(reqid, `could not read the deployment history: ${(err as Error).message}`)], to);
  }
  const infos: DeploymentInfo[] = rows.map((r) => ({
    id: r.id, configId: r.configId, kind: r.kind, started: r.started,
    ...(r.who === undefined ? {} : { who: r.who }),
    ...(r.ended === undefined ? {} : { ended: r.ended }),
    ...(r.outcome === undefined ? {} : { outcome: r.outcome }),
    ...outcomesOf(r.results ?? []),
  }));
  ctx.respond(spec, reqid, [success(reqid, { data: vector(infos.map(encodeDeploymentInfo)) })], to);
}

/** A configuration of the history, by its id or the id of a deployment of it; undefined with the answer given. */
function fromHistory(ctx: ControllerContext, reqid: string, id: string, answer: (r: Result) => void): Configuration | undefined {
  try {
    const config = ctx.store.configurationById(id);
    if (config) return config;
    answer(failure(reqid, `no configuration or deployment ${id} in the history (get-deployments lists them)`));
  } catch (err) {
    answer(failure(reqid, (err as Error).message));
  }
  return undefined;
}

export function getConfigurationById(ctx: ControllerContext, reqid: string, to: string, id: string): void {
  const answer = (r: Result): void => ctx.respond(ControllerApi.getConfigurationById, reqid, [r], to);
  const config = fromHistory(ctx, reqid, id, answer);
  if (config) answer(success(reqid, { data: encodeConfiguration(config) }));
}

/** Deploys a configuration of the history again: `id`, or the last good one that is not the deployed one. */
export function rollback(ctx: ControllerContext, deploy: (reqid: string, config: Configuration, how: DeployRequest) => void, reqid: string, to: string, id: string, who: string): void {
  const answer = (r: Result): void => ctx.respond(ControllerApi.rollback, reqid, [r], to);
  let target = id;
  if (target === '') {
    let good: DeploymentRecord | undefined;
    try {
      good = ctx.store.lastGoodDeployment(ctx.states.deployed?.id ?? '');
    } catch (err) {
      return answer(failure(reqid, (err as Error).message));
    }
    if (!good) return answer(failure(reqid, 'no earlier good deployment of another configuration to roll back to'));
    target = good.configId;
  }
  const config = fromHistory(ctx, reqid, target, answer);
  if (config) deploy(reqid, config, { answer: ControllerApi.rollback, kind: 'rollback', who, client: to });
}

/** The node's diagnostics from its agent, and the controller's own log lines about it. */
export function diag(ctx: ControllerContext, reqid: string, to: string, node: string): void {
  const spec = ControllerApi.diag;
  const deployed = ctx.states.deployed;
  const host = deployed?.nodes.find((n) => n.name === node);
  if (!host) return ctx.respond(spec, reqid, [failure(reqid, deployed ? 'unknown cluster node' : 'no active cluster deployment', { node })], to);
  const files: [string, string][] = [['controller/management-log.txt', logText(join(ctx.options.stateDir, 'management.log'), node)]];
  try {
    files.push(['controller/deployments.json', `${JSON.stringify(ctx.store.deployments(10).map(({ results: _r, ...d }) => d), null, 2)}\n`]);
  } catch (err) {
    files.push(['controller/deployments.json', `(the history is unreadable: ${(err as Error).message})\n`]);
  }
  const own = success(reqid, { node, data: table(files.map(([name, text]) => [str(name), str(text)] as const)) });
  const req = startRelay(ctx, spec, reqid, to, [own]);
  if (req) ctx.gather.fanOut(req, [host.instance], AgentApi.diag, node);
}
