/**
 * Deployment: one at a time. Instances the configuration drops go to
 * standby; every instance it needs must have a session and answer
 * agent_welcome_request before the READY configuration goes to each agent;
 * their per-node Results become the client's deploy_response. Agents that
 * come back later are brought back to the deployed configuration, and
 * clients hear when every node of it is RUNNING.
 */
import { randomUUID } from 'node:crypto';
import { AgentApi, ControllerApi, failure, success, type Configuration, type Request, type Result, type State } from '../management/index.js';
import { str } from '../protocol/index.js';
import type { ControllerContext } from './context.js';
import type { Completion, Gather } from './gather.js';

/** The deployment in progress: its gather, and whether its configuration went out yet. */
interface Deployment {
  readonly req: Request<Gather>;
  readonly config: Configuration;
  sent: boolean;
}

export class Deployer {
  private current: Deployment | undefined;
  /** Outstanding welcome request id per instance. */
  private readonly welcomes = new Map<string, string>();
  /** Deploy requests that bring a returning agent back (no client waits for them). */
  private readonly bringBacks = new Map<string, string>();
  private readonly nodeStates = new Map<string, State>();
  private clusterReadyFor = '';

  constructor(private readonly ctx: ControllerContext) {}

  /** A client's deploy_request. */
  deploy(reqid: string, config: Configuration | undefined = this.ctx.states.ready): void {
    const { ctx } = this;
    const refuse = (error: string): void => ctx.respond(ControllerApi.deploy, reqid, [failure(reqid, error)]);
    if (!config) return refuse('no configuration available to deploy');
    if (this.current) return refuse(`earlier deployment ${this.current.req.id} still pending`);
    if (ctx.gather.pending(reqid)) return refuse(`request ${reqid} is already pending`);
    if (!this.record(reqid, () => ctx.store.startDeployment(reqid, config.id), true)) return;
    const req = ctx.gather.start({ id: reqid, kind: 'deploy', onComplete: (results, completion) => this.finished(deployment, results, completion) });
    const deployment: Deployment = { req, config, sent: false };
    this.current = deployment;
    ctx.log.info({ reqid, config: config.id }, `deploying configuration ${config.id}`);
    // Standby first: requiring the new set closes links to dropped instances.
    const needed = new Set(config.instances.map((i) => i.name));
    for (const name of ctx.instances.knownNames()) if (!needed.has(name)) this.standby(name);
    ctx.instances.require(config.instances);
    for (const name of ctx.instances.notReady()) this.welcome(name);
    this.sendIfReady(deployment);
  }

  /** An agent said hello: welcome it if the configuration needs it. */
  helloFrom(instance: string): void {
    const { instances } = this.ctx;
    if (instances.required.has(instance) && !instances.ready.has(instance)) this.welcome(instance);
  }

  welcomed(reqid: string, result: Result): void {
    const instance = [...this.welcomes].find(([, id]) => id === reqid)?.[0];
    if (instance === undefined) {
      this.ctx.log.warn({ reqid }, `ignoring agent_welcome_response ${reqid}: no such request pending (late or unknown)`);
      return;
    }
    this.welcomes.delete(instance);
    this.ctx.log.info({ reqid, instance, success: result.success }, 'rx agent_welcome_response');
    if (!result.success || !this.ctx.instances.required.has(instance)) {
      this.standby(instance);
      return;
    }
    this.ctx.instances.ready.add(instance);
    this.ctx.log.info({ instance }, `instance ${instance} ready`);
    if (this.current) this.sendIfReady(this.current);
    else this.bringBack(instance);
  }

  /** A deploy_response no client waits for: from bringing an agent back. */
  bringBackAnswered(reqid: string, results: readonly Result[]): boolean {
    const instance = this.bringBacks.get(reqid);
    if (instance === undefined) return false;
    this.bringBacks.delete(reqid);
    const failed = results.filter((r) => !r.success).map((r) => r.node ?? r.instance ?? '?');
    this.ctx.log.info({ reqid, instance, failed }, `instance ${instance} is back on the deployed configuration${failed.length ? `, failed nodes: ${failed.join(', ')}` : ''}`);
    for (const r of results) if (r.node !== undefined) this.nodeState(r.node, r.success ? 'RUNNING' : 'FAILED');
    this.record(reqid, () => this.ctx.store.endDeployment(reqid, failed.length ? 'failure' : 'success', results));
    return true;
  }

  instanceLost(instance: string): void {
    this.welcomes.delete(instance);
    for (const [id, name] of this.bringBacks) {
      if (name !== instance) continue;
      this.bringBacks.delete(id);
      this.record(id, () => this.ctx.store.endDeployment(id, 'failure', [failure(id, `instance ${instance} disconnected`, { instance })]));
    }
  }

  /** The gather of a deployment completed. */
  private finished(d: Deployment, results: Result[], completion: Completion): void {
    const { ctx } = this;
    const { id } = d.req;
    this.current = undefined;
    if (!d.sent) {
      const missing = ctx.instances.notReady();
      results.splice(results.length - 1, 0, ...missing.map((name) => failure(id, `instance ${name} did not check in`, { instance: name })));
    }
    const verdict = completion === 'timed-out' ? 'timeout' : results.every((r) => r.success) ? 'success' : 'failure';
    const final = completion === 'timed-out' ? results : [...results, success(id, { data: str(d.config.id) })];
    this.record(id, () => ctx.store.endDeployment(id, verdict, final));
    ctx.log.info({ reqid: id, config: d.config.id, outcome: verdict }, `deployment ${id} of ${d.config.id} finished: ${verdict}`);
    ctx.respond(ControllerApi.deploy, id, final);
    if (verdict === 'success') {
      for (const n of d.config.nodes) this.nodeStates.set(n.name, 'RUNNING');
      this.announceIfReady();
    }
    if (!d.sent) this.restoreDeployed();
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
    if (state !== 'RUNNING') this.clusterReadyFor = '';
    this.announceIfReady();
  }

  close(): void {
    this.welcomes.clear();
    this.bringBacks.clear();
  }

  /** Runs a store write; a failure is logged (and answered, if `answer`) and returns false. */
  private record(reqid: string, write: () => void, answer = false): boolean {
    try {
      write();
      return true;
    } catch (err) {
      const message = `could not store deployment ${reqid}: ${(err as Error).message}`;
      this.ctx.log.error({ reqid, err: (err as Error).message }, message);
      if (answer) this.ctx.respond(ControllerApi.deploy, reqid, [failure(reqid, message)]);
      return false;
    }
  }

  private welcome(instance: string): void {
    const id = randomUUID();
    if (this.ctx.toAgent(instance, AgentApi.agentWelcome.request.make(id), id)) this.welcomes.set(instance, id);
  }

  private standby(instance: string): void {
    const id = randomUUID();
    this.ctx.toAgent(instance, AgentApi.agentStandby.request.make(id), id);
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
    this.ctx.gather.fanOut(req, d.config.instances.map((i) => i.name).sort(), AgentApi.deploy, d.config, false);
  }

  /** An agent of the deployed configuration (re)appeared: bring it to that configuration (a no-op if it runs it). */
  private bringBack(instance: string): void {
    const deployed = this.ctx.states.deployed;
    if (!deployed?.instances.some((i) => i.name === instance)) return;
    const id = randomUUID();
    this.ctx.log.info({ instance, config: deployed.id }, `bringing ${instance} back to configuration ${deployed.id}`);
    if (!this.record(id, () => this.ctx.store.startDeployment(id, deployed.id))) return;
    if (this.ctx.toAgent(instance, AgentApi.deploy.request.make(id, deployed, false), id)) this.bringBacks.set(id, instance);
    else this.record(id, () => this.ctx.store.endDeployment(id, 'failure', [failure(id, `instance ${instance} is not connected`, { instance })]));
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
