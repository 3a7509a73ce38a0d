/**
 * Deployment: one at a time. Instances the configuration drops go to
 * standby; every instance it needs must have a session and answer
 * agent_welcome_request before the READY configuration goes to each agent;
 * their per-node Results become the client's deploy_response. A deployment
 * asked with rollback-on-failure that does not come up is followed by a
 * deployment of the last good configuration. Agents that come back later
 * are brought back to the deployed configuration (leaving the nodes an
 * operator stopped stopped), and clients hear when every node of it is
 * RUNNING. Every request to agents (welcome, standby, deploy, bring-back)
 * is a gather with its own completion; every deployment is in the history.
 */
import { randomUUID } from 'node:crypto';
import {
  AgentApi, ControllerApi, failure, success, type Configuration, type Request, type RequestKind, type Result, type State,
} from '../management/index.js';
import { str } from '../protocol/index.js';
import type { ControllerContext } from './context.js';
import type { Completion, Gather } from './gather.js';
import type { DeploymentKind, DeploymentOutcome } from './store.js';

/** How a deployment was asked for, and how it is answered. */
export interface DeployRequest {
  /** The request the client sent (deploy, deploy_with_rollback, rollback): its response carries the Results. */
  answer: RequestKind;
  kind: DeploymentKind;
  /** Who asked, for the history. */
  who?: string;
  /** The client session that asked: the only one its response goes to (unless `onDone` takes the Results). */
  client?: string;
  /** Deploy the last good configuration again when this one does not come up. */
  rollbackOnFailure?: boolean;
  /** Instead of answering a client: the deployment's final Results (a rollback after a failure). */
  onDone?: (results: Result[], outcome: DeploymentOutcome) => void;
}

const CLIENT_DEPLOY: DeployRequest = { answer: ControllerApi.deploy, kind: 'deploy' };

/** The deployment in progress: its gather, the client session it answers, and whether its configuration went out yet. */
interface Deployment {
  readonly req: Request<Gather>;
  readonly config: Configuration;
  readonly how: DeployRequest;
  sent: boolean;
}

export class Deployer {
  private current: Deployment | undefined;
  private readonly nodeStates = new Map<string, State>();
  private clusterReadyFor = '';

  constructor(private readonly ctx: ControllerContext) {}

  /** A client's deploy_request (or deploy_with_rollback, rollback: `how`). */
  deploy(reqid: string, config: Configuration | undefined = this.ctx.states.ready, how: DeployRequest = CLIENT_DEPLOY): void {
    const { ctx } = this;
    const refuse = (error: string): void => {
      if (how.onDone) how.onDone([failure(reqid, error)], 'failure');
      else this.answer(how, reqid, [failure(reqid, error)]);
    };
    if (!config) return refuse('no configuration available to deploy');
    if (this.current) return refuse(`earlier deployment ${this.current.req.id} still pending`);
    if (ctx.gather.pending(reqid)) return refuse(`request ${reqid} is already pending`);
    if (!this.record(reqid, () => ctx.store.startDeployment(reqid, config, how.kind, how.who), refuse)) return;
    const req = ctx.gather.start({
      id: reqid,
      kind: 'deploy',
      // Until the configuration goes out, the deployment waits for welcomes.
      onDeadline: () => (deployment.sent ? [] : ctx.instances.notReady().map((name) => failure(reqid, `instance ${name} did not check in`, { instance: name }))),
      onComplete: (results, completion) => this.finished(deployment, results, completion),
    });
    const deployment: Deployment = { req, config, how, sent: false };
    this.current = deployment;
    ctx.log.info({ reqid, config: config.id }, `deploying configuration ${config.id}`);
    // Standby first: requiring the new set closes links to dropped instances.
    const needed = new Set(config.instances.map((i) => i.name));
    for (const name of ctx.instances.knownNames()) if (!needed.has(name)) this.standby(name);
    ctx.instances.require(config.instances);
    for (const name of ctx.instances.notReady()) this.welcome(name);
    this.sendIfReady(deployment);
  }

  /** The response to the client session that asked (none asked: a bug, logged). */
  private answer(how: DeployRequest, reqid: string, results: Result[]): void {
    if (how.client !== undefined) this.ctx.respond(how.answer, reqid, results, how.client);
    else this.ctx.log.error({ reqid, kind: how.kind }, `deployment ${reqid} has nobody to answer`);
  }

  /** An agent said hello: welcome it if the configuration needs it. */
  helloFrom(instance: string): void {
    const { instances } = this.ctx;
    if (instances.required.has(instance) && !instances.ready.has(instance)) this.welcome(instance);
  }

  /** The gather of a deployment completed. */
  private finished(d: Deployment, results: Result[], completion: Completion): void {
    const { ctx } = this;
    const { id } = d.req;
    this.current = undefined;
    const verdict: DeploymentOutcome = completion === 'timed-out' ? 'timeout' : results.every((r) => r.success) ? 'success' : 'failure';
    const final = completion === 'timed-out' ? results : [...results, success(id, { data: str(d.config.id) })];
    this.record(id, () => ctx.store.endDeployment(id, verdict, final));
    ctx.log.info({ reqid: id, config: d.config.id, outcome: verdict }, `deployment ${id} of ${d.config.id} finished: ${verdict}`);
    if (verdict === 'success') {
      for (const n of d.config.nodes) this.nodeStates.set(n.name, 'RUNNING');
      this.announceIfReady();
    }
    if (!d.sent) this.restoreDeployed();
    // A deployment that never went out changed nothing: there is nothing to roll back.
    if (d.how.rollbackOnFailure && d.sent && verdict !== 'success') this.rollBack(d, final);
    else if (d.how.onDone) d.how.onDone(final, verdict);
    else this.answer(d.how, id, final);
  }

  /** The deployment `d` did not come up: deploy the last good configuration, then answer with both outcomes. */
  private rollBack(d: Deployment, failed: Result[]): void {
    const { ctx } = this;
    const { id } = d.req;
    const answer = (extra: Result): void => this.answer(d.how, id, [...failed, extra]);
    let good: { id: string; config: Configuration } | undefined;
    try {
      const record = ctx.store.lastGoodDeployment(d.config.id);
      const config = record && ctx.store.configurationById(record.configId);
      if (record && config) good = { id: record.id, config };
    } catch (err) {
      return answer(failure(id, `deployment ${id} did not come up, and the history cannot be read to roll back: ${(err as Error).message}`));
    }
    if (!good) return answer(failure(id, `deployment ${id} did not come up, and there is no earlier good deployment to roll back to`));
    const rollbackId = randomUUID();
    const target = good;
    ctx.log.warn({ reqid: id, config: d.config.id, to: target.config.id, rollback: rollbackId }, `deployment ${id} did not come up; rolling back to configuration ${target.config.id}`);
    this.deploy(rollbackId, target.config, {
      answer: d.how.answer,
      kind: 'auto-rollback',
      who: `controller: rollback-on-failure of deployment ${id}`,
      onDone: (results, outcome) => {
        const says = outcome === 'success' ? 'every node came up'
          : `it failed too: ${results.filter((r) => !r.success).map((r) => (r.node ? `${r.node}: ${r.error}` : r.error)).join('; ')}`;
        answer(failure(id, `deployment ${id} of ${d.config.id} did not come up; rolled back to configuration ${target.config.id} ` +
          `(last good deployment ${target.id}) as deployment ${rollbackId}: ${says}`));
      },
    });
  }

  /**
   * A deployment that never got to send its configuration changed nothing:
   * the instances of the deployed configuration (some were sent to standby)
   * are brought back to it.
   */
  private restoreDeployed(): void {
    const deployed = this.ctx.states.deployed;
    this.ctx.instances.require(deployed?.instances ?? []);
    if (!deployed) return;
    this.ctx.log.info({ config: deployed.id }, `restoring instances to the deployed configuration ${deployed.id}`);
    for (const name of this.ctx.instances.notReady()) this.welcome(name);
  }

  /** An agent reported a node state change. */
  nodeState(node: string, state: State): void {
    if (!this.ctx.states.deployed?.nodes.some((n) => n.name === node)) return;
    this.nodeStates.set(node, state);
    // Once per deployment: a node in a crash loop coming back does not make the cluster "ready" again and again.
    this.announceIfReady();
  }

  /** Runs a store write; a failure is logged (and answered, with `answer`) and returns false. */
  private record(reqid: string, write: () => void, answer?: (error: string) => void): boolean {
    try {
      write();
      return true;
    } catch (err) {
      const message = `could not store deployment ${reqid}: ${(err as Error).message}`;
      this.ctx.log.error({ reqid, err: (err as Error).message }, message);
      answer?.(message);
      return false;
    }
  }

  /** Asks an instance's agent whether it is there; a welcome waits as long as the agent's session lasts. */
  private welcome(instance: string): void {
    const req = this.ctx.gather.start({ kind: 'agent_welcome', timeoutMs: Infinity, onComplete: (results) => this.welcomed(instance, results) });
    this.ctx.gather.fanOut(req, [instance], AgentApi.agentWelcome);
  }

  private welcomed(instance: string, results: readonly Result[]): void {
    const { instances, log } = this.ctx;
    // Gone meanwhile, or welcomed already (a hello and a deployment may both have sent a welcome).
    if (!instances.session(instance) || instances.ready.has(instance)) return;
    if (!results.every((r) => r.success) || !instances.required.has(instance)) {
      this.standby(instance);
      return;
    }
    instances.ready.add(instance);
    log.info({ instance }, `instance ${instance} ready`);
    if (this.current) this.sendIfReady(this.current);
    else this.bringBack(instance);
  }

  private standby(instance: string): void {
    const req = this.ctx.gather.start({
      kind: 'agent_standby',
      onComplete: (results) => {
        const failed = results.find((r) => !r.success);
        this.ctx.log.info({ instance, error: failed?.error }, failed ? `instance ${instance} did not go to standby: ${failed.error}` : `instance ${instance} is in standby`);
      },
    });
    this.ctx.gather.fanOut(req, [instance], AgentApi.agentStandby);
  }

  private sendIfReady(d: Deployment): void {
    if (d.sent) return;
    const { req } = d;
    const missing = this.ctx.instances.notReady();
    if (missing.length > 0) {
      this.ctx.log.info({ reqid: req.id, waitingFor: missing }, `deployment ${req.id} waits for ${missing.join(', ')}`);
      return;
    }
    d.sent = true;
    if (!this.record(req.id, () => this.ctx.states.deploy(d.config))) {
      this.ctx.gather.finish(req, [failure(req.id, 'could not store the deployed configuration; nothing was sent to agents')]);
      return;
    }
    this.nodeStates.clear();
    this.clusterReadyFor = '';
    // A new deployed configuration starts every node: nothing is left stopped.
    this.ctx.gather.fanOut(req, d.config.instances.map((i) => i.name).sort(), AgentApi.deploy, d.config, false, []);
  }

  /**
   * An agent of the deployed configuration (re)appeared: bring it to that
   * configuration (a no-op if it runs it). Recorded in the deployment
   * history; no client waits for it, and it waits as long as the session lasts.
   */
  private bringBack(instance: string): void {
    const deployed = this.ctx.states.deployed;
    if (!deployed?.instances.some((i) => i.name === instance)) return;
    const id = randomUUID();
    this.ctx.log.info({ instance, config: deployed.id }, `bringing ${instance} back to configuration ${deployed.id}`);
    if (!this.record(id, () => this.ctx.store.startDeployment(id, deployed, 'bring-back', `controller: ${instance} came back`))) return;
    const req = this.ctx.gather.start({ id, kind: 'deploy', timeoutMs: Infinity, onComplete: (results) => this.broughtBack(id, instance, results) });
    let stopped: string[] = [];
    try {
      stopped = this.ctx.store.stoppedNodes();
    } catch (err) {
      this.ctx.log.error({ err: (err as Error).message }, 'could not read the stopped nodes; bringing the instance back with all its nodes');
    }
    this.ctx.gather.fanOut(req, [instance], AgentApi.deploy, deployed, false, stopped);
  }

  private broughtBack(id: string, instance: string, results: readonly Result[]): void {
    const failed = results.filter((r) => !r.success);
    const nodes = failed.map((r) => r.node).filter((n) => n !== undefined);
    const says = failed.length === 0 ? `instance ${instance} is back on the deployed configuration`
      : nodes.length === failed.length ? `instance ${instance} is back on the deployed configuration, failed nodes: ${nodes.join(', ')}`
        : `instance ${instance} was not brought back: ${failed.map((r) => r.error).join('; ')}`;
    this.ctx.log.info({ reqid: id, instance, failed: failed.map((r) => r.node ?? r.instance ?? '?') }, says);
    for (const r of results) if (r.node !== undefined) this.nodeState(r.node, r.success ? 'RUNNING' : 'FAILED');
    this.record(id, () => this.ctx.store.endDeployment(id, failed.length ? 'failure' : 'success', results));
  }

  private announceIfReady(): void {
    const config = this.ctx.states.deployed;
    if (!config || this.current || this.clusterReadyFor === config.id || config.nodes.length === 0) return;
    if (!config.nodes.every((n) => this.nodeStates.get(n.name) === 'RUNNING')) return;
    this.clusterReadyFor = config.id;
    this.ctx.log.info({ config: config.id }, `every node of ${config.id} is RUNNING`);
    this.ctx.toClients(ControllerApi.notifyClusterReady.make(config.id), { config: config.id });
  }
}
