/**
 * The controller runtime: one endpoint with two listeners (clients, agents),
 * the client API on the controller topic, the agent API on the agent topic
 * prefix. Simple requests are answered here; deployment (deploy.ts) and
 * relayed requests (relay.ts) gather agents' answers through one request
 * mechanism (gather.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import {
  API_VERSION, backendOf, AgentApi, AgentNotifications, ControllerApi, EventDispatcher, RequestTracker, TOPIC_AGENT_PREFIX, TOPIC_CONTROLLER,
  agentRole, agentTopic, clientPolicy, type Authorizer, encodeConfiguration, encodeInstance, failure, nobody, success, type Configuration, type InvalidEvent,
  type RequestKind, type Result,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { StateLock } from '../management/state-lock.js';
import { count, Endpoint, ErrorCode, HttpRouter, str, topicMatches, vector, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import { USABLE_NAME } from '../management/identifiers.js';
import { truncate } from '../management/log-line.js';
import type { ControllerOptions } from './config.js';
import type { ControllerContext } from './context.js';
import { BundleUploads, bundleChunk } from './bundles.js';
import { Deployer } from './deploy.js';
import { Gatherer, type AgentLineLevel } from './gather.js';
import { ControllerMetrics, prometheusRoutes } from './metrics.js';
import { addDashboardRoutes, dashboardUrl } from './dashboard.js';
import { sessionRole } from './session-role.js';
import { InstanceRegistry, addressOf } from './instances.js';
import { assignBackendPorts, assignBrokerPorts, assignMetricsPorts } from './ports.js';
import { df, getIdValue, getNodes, restart, startRelay, testTimeout } from './relay.js';
import { diag, getConfigurationById, getDeployments, rollback, rollingRestart, start, stop } from './operations.js';
import { ConfigStates } from './state.js';
import { ControllerStore } from './store.js';
import { validateConfiguration } from './validate.js';
import { ControllerAccess } from './security.js';

export type { ControllerOptions } from './config.js';

/** Another controller holds the state directory. */
export class StateLockError extends Error {}

/**
 * zeek-client's read timeout restarts on every ping it gets, so pinging its
 * session more often than its request timeout (20 s by default) would keep
 * it waiting forever for a response that never comes (test-timeout).
 */
const CLIENT_PING_INTERVAL_MS = 60_000;

/** How many refused agent processes the controller remembers, to warn once about each. */
const MAX_REFUSED_REMEMBERED = 1000;

export interface Controller {
  readonly name: string;
  readonly clientPort: number;
  readonly agentPort: number;
  readonly stateDir: string;
  /**
   * The client listener's plain HTTP routes (the dashboard at `/`, `/services.json`, `/metrics`):
   * `http.add(path, { name, handler })` adds one, `http.authorize(hook)`
   * puts one check in front of every route and the WebSocket upgrade.
   */
  readonly http: HttpRouter;
  /** SIGHUP: reads TLS material and the auth file again without dropping a session; returns the problems (old contents stay). */
  reload(): Promise<string[]>;
  /** The id of the deployed configuration (persisted from an earlier run, or deployed since), if any. */
  readonly deployedConfigId: string | undefined;
  close(): Promise<void>;
}

/** Starts a controller; rejects (with a StoreError for a bad database) if it cannot. */
export async function startController(options: ControllerOptions): Promise<Controller> {
  mkdirSync(options.stateDir, { recursive: true });
  const locked = StateLock.acquire(options.stateDir, 'controller');
  if (!locked.ok) throw new StateLockError(locked.error);
  const lock = locked.value;
  const log = options.logger ?? createLogger({
    name: options.name, role: 'controller', stateDir: options.stateDir, maxBytes: options.limits.logMaxBytes, keep: options.limits.logKeep,
    ...(options.logLevel ? { level: options.logLevel } : {}), ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  let store: ControllerStore | undefined;
  let runtime: ControllerRuntime | undefined;
  try {
    store = ControllerStore.open(options.stateDir);
    const access = await ControllerAccess.open(options, log);
    runtime = new ControllerRuntime(options, store, log, access);
    const ownLog = !options.logger;
    runtime.onClosed = () => { lock.release(); if (ownLog) log.close(); };
    await runtime.start();
    return runtime;
  } catch (err) {
    if (runtime) await runtime.close();
    else {
      store?.close();
      lock.release();
      if (!options.logger) log.close();
    }
    throw err;
  }
}

class ControllerRuntime implements Controller, ControllerContext {
  readonly name: string;
  clientPort = 0;
  agentPort = 0;
  readonly stateDir: string;
  /** Releases what startController made for this runtime (its own logger's files). */
  onClosed: (() => void) | undefined;
  readonly states: ConfigStates;
  readonly instances: InstanceRegistry;
  readonly gather: Gatherer;
  private readonly endpoint: Endpoint;
  private readonly tracker: RequestTracker;
  private readonly deployer: Deployer;
  private readonly uploads: BundleUploads;
  readonly http = new HttpRouter();
  private readonly metrics = new ControllerMetrics();
  /** Agent processes (hello ids) refused so far. */
  private readonly refused = new Set<string>();

  constructor(readonly options: ControllerOptions, readonly store: ControllerStore, readonly log: ManagementLogger, private readonly access: ControllerAccess) {
    this.name = options.name;
    this.stateDir = options.stateDir;
    this.states = new ConfigStates(store, log);
    this.endpoint = new Endpoint({ id: `${options.name}-${randomUUID()}`, version: `zeek-mgmt/${API_VERSION}`, logger: log, limits: options.limits.wire });
    this.tracker = new RequestTracker(options.requestTimeoutMs);
    this.instances = new InstanceRegistry(this.endpoint, options.dialRetryMaxMs, (name) => access.agentLink(name));
    this.gather = new Gatherer(this.tracker, log, (instance, event, reqid, level) => this.toAgent(instance, event, reqid, level));
    this.deployer = new Deployer(this);
    this.uploads = new BundleUploads(store);
    const prometheus = prometheusRoutes(this.metrics, () => this.states.deployed, () => this.instances.known());
    this.http
      .add('/services.json', { name: 'services', handler: prometheus.services })
      .add('/metrics', { name: 'metrics', handler: prometheus.metrics })
      .authorize(access.httpAuthorize());
    addDashboardRoutes(this.http);
  }

  async start(): Promise<void> {
    this.endpoint.subscribe(TOPIC_CONTROLLER, this.clientApi().handle);
    this.endpoint.subscribe(TOPIC_AGENT_PREFIX, this.agentApi().handle);
    this.endpoint.on('peer-down', (peer) => this.peerLost(peer));
    this.endpoint.on('peer-up', (peer) => this.log.debug({ peer: peer.id, remote: `${peer.remoteAddress}:${peer.remotePort}`, direction: peer.direction }, 'peer added'));
    const { clientHost, agentHost } = this.options;
    // Clients talk to the controller only: nothing one publishes reaches another (responses go to the
    // session that asked, notifications to every client); a session on the agents' port hears nothing meant for clients.
    this.clientPort = (await this.endpoint.listen({
      host: clientHost, port: this.options.clientPort, name: 'clients', publishTopics: [TOPIC_CONTROLLER], subscribeTopics: [TOPIC_CONTROLLER],
      relay: false, pingIntervalMs: CLIENT_PING_INTERVAL_MS, router: this.http, ...this.access.clientListener(),
    })).port;
    this.agentPort = (await this.endpoint.listen({
      host: agentHost, port: this.options.agentPort, name: 'agents', publishTopics: [TOPIC_AGENT_PREFIX], subscribeTopics: [TOPIC_AGENT_PREFIX], relay: false,
      ...this.access.agentListener(),
    })).port;
    this.log.info({ clients: `${clientHost}:${this.clientPort}`, agents: `${agentHost}:${this.agentPort}`, stateDir: this.stateDir, endpoint: this.endpoint.id },
      `controller is live: clients on ${clientHost}:${this.clientPort}, agents on ${agentHost}:${this.agentPort}`);
    const dashboard = dashboardUrl(clientHost, this.clientPort, { tls: this.options.security.tls !== undefined });
    this.log.info({ dashboard }, `dashboard at ${dashboard}`);
    const deployed = this.states.deployed;
    if (deployed) {
      this.log.info({ config: deployed.id }, `re-deploying persisted configuration ${deployed.id} as agents appear`);
      this.instances.require(deployed.instances);
    }
  }

  async reload(): Promise<string[]> {
    const problems = await this.access.reload();
    this.endpoint.reloadTls();
    for (const p of problems) this.log.error({}, `reload: ${p}; keeping what was in use`);
    this.log.info({ problems: problems.length }, problems.length ? 'reloaded credentials with problems' : 'reloaded TLS material and credentials');
    return problems;
  }

  get deployedConfigId(): string | undefined {
    return this.states.deployed?.id;
  }

  async close(): Promise<void> {
    this.tracker.close();
    this.gather.close();
    await this.instances.close();
    await this.endpoint.close();
    this.store.close();
    this.onClosed?.();
    this.onClosed = undefined;
  }

  toClients(event: ZeekEvent, summary: object = {}): void {
    this.log.info({ ...summary, event: event.name }, `tx ${event.name}`);
    this.endpoint.publishEvent(TOPIC_CONTROLLER, event);
  }

  respond(spec: RequestKind, reqid: string, results: readonly Result[], to: string): void {
    this.metrics.finished(spec.kind, reqid, results.every((r) => r.success));
    const event = spec.respond(reqid, results);
    this.log.info({ reqid, results: results.length, success: results.every((r) => r.success), event: event.name, peer: to }, `tx ${event.name}`);
    // A client that went away meanwhile gets nothing; no other client ever sees it.
    this.endpoint.publishEvent(TOPIC_CONTROLLER, event, { to });
  }

  toAgent(instance: string, event: ZeekEvent, reqid: string, level: AgentLineLevel = 'info'): boolean {
    const session = this.instances.session(instance);
    if (!session) return false;
    this.log[level]({ reqid, instance, event: event.name }, `tx ${event.name} to ${instance}`);
    this.endpoint.publishEvent(agentTopic(instance), event, { to: session.peer.id });
    return true;
  }

  private clientApi(): EventDispatcher {
    const rx = (spec: RequestKind, fields: { reqid: string } & Record<string, unknown>): void => {
      this.metrics.started(spec.kind, fields.reqid);
      this.log.info(fields, `rx ${spec.kind}_request`);
    };
    const api = ControllerApi;
    // Agents' notifications on this topic are ours, republished for clients.
    const limits = { maxReqidLength: this.options.limits.maxReqidLength };
    return new EventDispatcher([api, AgentNotifications], (p) => {
      if (p.denied) {
        this.log.warn({ peer: p.from.id, role: p.from.principal, event: p.event }, p.error);
        if (p.request) this.respond(p.request.spec, p.request.reqid, [failure(p.request.reqid, p.error)], p.from.id);
        return;
      }
      this.invalid(p);
      if (p.request) this.respond(p.request.spec, p.request.reqid, [failure(p.request.reqid, `invalid request: ${p.error}`)], p.from.id);
    }, clientPolicy, limits)
      .serve(api.getInstances, (reqid, _args, from) => { rx(api.getInstances, { reqid }); this.getInstances(reqid, from.id); })
      .serve(api.stageConfiguration, (reqid, [config], from) => {
        rx(api.stageConfiguration, { reqid, config: config.id, instances: config.instances.length, nodes: config.nodes.length });
        this.stage(reqid, config, from.id);
      })
      .serve(api.getConfiguration, (reqid, [deployed], from) => { rx(api.getConfiguration, { reqid, deployed }); this.getConfiguration(reqid, deployed, from.id); })
      .serve(api.deploy, (reqid, _args, from) => {
        rx(api.deploy, { reqid });
        this.deployer.deploy(reqid, undefined, { answer: api.deploy, kind: 'deploy', who: clientName(from), client: from.id });
      })
      .serve(api.getNodes, (reqid, _args, from) => { rx(api.getNodes, { reqid }); getNodes(this, reqid, from.id); })
      .serve(api.getIdValue, (reqid, [id, nodes], from) => { rx(api.getIdValue, { reqid, id, nodes }); getIdValue(this, reqid, from.id, id, nodes); })
      .serve(api.restart, (reqid, [nodes], from) => { rx(api.restart, { reqid, nodes }); restart(this, reqid, from.id, nodes); })
      .serve(api.testTimeout, (reqid, [withState], from) => { rx(api.testTimeout, { reqid, withState }); testTimeout(this, reqid, from.id, withState); })
      .serve(api.checkConfiguration, (reqid, [config], from) => {
        rx(api.checkConfiguration, { reqid, config: config.id, instances: config.instances.length, nodes: config.nodes.length });
        this.check(reqid, config, from.id);
      })
      // Ours (operations.ts).
      .serve(api.stop, (reqid, [nodes], from) => { rx(api.stop, { reqid, nodes }); stop(this, reqid, from.id, nodes); })
      .serve(api.start, (reqid, [nodes], from) => { rx(api.start, { reqid, nodes }); start(this, reqid, from.id, nodes); })
      .serve(api.rollingRestart, (reqid, [nodes], from) => { rx(api.rollingRestart, { reqid, nodes }); rollingRestart(this, reqid, from.id, nodes); })
      .serve(api.getDeployments, (reqid, [limit], from) => { rx(api.getDeployments, { reqid, limit }); getDeployments(this, reqid, from.id, limit); })
      .serve(api.getConfigurationById, (reqid, [id], from) => { rx(api.getConfigurationById, { reqid, id }); getConfigurationById(this, reqid, from.id, id); })
      .serve(api.rollback, (reqid, [id], from) => {
        rx(api.rollback, { reqid, id });
        rollback(this, (r, config, how) => this.deployer.deploy(r, config, how), reqid, from.id, id, clientName(from));
      })
      .serve(api.deployWithRollback, (reqid, _args, from) => {
        rx(api.deployWithRollback, { reqid });
        this.deployer.deploy(reqid, undefined, { answer: api.deployWithRollback, kind: 'deploy', who: clientName(from), client: from.id, rollbackOnFailure: true });
      })
      .serve(api.diag, (reqid, [node], from) => { rx(api.diag, { reqid, node }); diag(this, reqid, from.id, node); })
      .serve(api.uploadBundle, (reqid, [hash, offset, total, data], from) => {
        rx(api.uploadBundle, { reqid, hash, offset, total, bytes: data.length });
        this.uploadBundle(reqid, hash, offset, total, data, from.id);
      })
      .serve(api.df, (reqid, _args, from) => { rx(api.df, { reqid }); df(this, reqid, from.id); })
      .serve(api.getSessionRole, (reqid, _args, from) => {
        rx(api.getSessionRole, { reqid });
        this.respond(api.getSessionRole, reqid, [success(reqid, { data: str(sessionRole(from)) })], from.id);
      });
  }

  private agentApi(): EventDispatcher {
    const gathered = (spec: RequestKind) => (reqid: string, results: Result[], from: PeerInfo): void =>
      void this.gather.answered(reqid, results, `${spec.kind}_response`, from.principal?.startsWith('agent:') ? from.principal.slice('agent:'.length) : '');
    // An agent speaks for its own instance only: the name its session proved.
    const own = (instance: string, from: PeerInfo): boolean => {
      if (from.principal === agentRole(instance)) return true;
      this.log.warn({ peer: from.id, role: from.principal, instance }, `ignored an event for instance ${instance} from a session of ${from.principal ?? 'no role'}`);
      return false;
    };
    // The one request served here: an agent fetching a script bundle (only a session proven as an agent).
    const agentsOnly: Authorizer = (spec, from) => (spec === AgentApi.fetchBundle && from.principal?.startsWith('agent:') ? undefined : nobody(spec, from));
    return new EventDispatcher([AgentApi], (p) => this.invalid(p), agentsOnly, { maxReqidLength: this.options.limits.maxReqidLength })
      .on(AgentApi.notifyAgentHello, ([instance, id, connecting, version], from) => this.hello(instance, id, connecting, version, from))
      .answers(AgentApi.agentWelcome, gathered(AgentApi.agentWelcome))
      .answers(AgentApi.agentStandby, gathered(AgentApi.agentStandby))
      .answers(AgentApi.deploy, gathered(AgentApi.deploy))
      .answers(AgentApi.getNodes, gathered(AgentApi.getNodes))
      .answers(AgentApi.nodeDispatch, gathered(AgentApi.nodeDispatch))
      .answers(AgentApi.restart, gathered(AgentApi.restart))
      .answers(AgentApi.check, gathered(AgentApi.check))
      .answers(AgentApi.stop, gathered(AgentApi.stop))
      .answers(AgentApi.start, gathered(AgentApi.start))
      .answers(AgentApi.diag, gathered(AgentApi.diag))
      .answers(AgentApi.df, gathered(AgentApi.df))
      .serve(AgentApi.fetchBundle, (reqid, [hash, offset], from) => this.fetchBundle(reqid, hash, offset, from))
      .on(AgentApi.notifyChange, (args, from) => {
        if (!own(args[0], from)) return;
        this.forward(AgentApi.notifyChange.make(...args), { instance: args[0], node: args[1].name, old: args[2], new: args[3] });
        this.deployer.nodeState(args[1].name, args[3]);
        this.metrics.nodeChange(args[0], args[1].name, args[2], args[3]);
      })
      .on(AgentApi.notifyError, (args, from) => { if (own(args[0], from)) this.forward(AgentApi.notifyError.make(...args), { instance: args[0], text: args[1], node: args[2] }); })
      .on(AgentApi.notifyLog, (args, from) => { if (own(args[0], from)) this.forward(AgentApi.notifyLog.make(...args), { instance: args[0], text: args[1], node: args[2] }); });
  }

  /** A malformed or unknown event: logged and answered with a Broker error; nothing changes. */
  private invalid(problem: InvalidEvent): void {
    this.log.error({ peer: problem.from.id, topic: problem.topic, event: problem.event, error: problem.error }, `rejected malformed event: ${problem.error}`);
    this.endpoint.sendError(problem.from.id, ErrorCode.invalidData, problem.error);
  }

  private getInstances(reqid: string, to: string): void {
    const data = vector(this.instances.known().map(encodeInstance));
    this.respond(ControllerApi.getInstances, reqid, [success(reqid, { data })], to);
  }

  /** The configuration's problems as failed Results (logged), or undefined when it is valid. */
  private rejected(reqid: string, config: Configuration): Result[] | undefined {
    const errors = validateConfiguration(config, {
      controllerPort: this.agentPort, clientPort: this.clientPort, autoAssignPorts: this.options.autoAssignPorts,
      maxNodes: this.options.limits.maxNodes, maxConfigBytes: this.options.limits.maxConfigBytes,
    });
    const bundle = config.cluster?.bundle;
    if (bundle !== undefined && this.store.bundleSize(bundle) === undefined) {
      errors.push(`script bundle ${bundle} is not stored on this controller; upload it first (stage-config --scripts DIR, or [scripts] dir = DIR, does)`);
    }
    if (errors.length === 0) return undefined;
    this.log.warn({ reqid, config: config.id, errors }, `configuration ${config.id} rejected`);
    return errors.map((e) => failure(reqid, e));
  }

  private stage(reqid: string, config: Configuration, to: string): void {
    const respond = (results: Result[]): void => this.respond(ControllerApi.stageConfiguration, reqid, results, to);
    const problems = this.rejected(reqid, config);
    if (problems) return respond(problems);
    try {
      this.states.stage(config, this.prepare(config));
    } catch (err) {
      this.log.error({ reqid, err: (err as Error).message }, 'could not persist the staged configuration');
      return respond([failure(reqid, `could not store the configuration: ${(err as Error).message}`)]);
    }
    respond([success(reqid, { data: str(config.id) })]);
  }

  /**
   * zeekctl's check: the configuration validated and made READY as staging
   * would (nothing stored), then each instance's agent parses its nodes'
   * scripts. An instance that is not connected gets a failed Result.
   */
  private check(reqid: string, config: Configuration, to: string): void {
    const problems = this.rejected(reqid, config);
    if (problems) return this.respond(ControllerApi.checkConfiguration, reqid, problems, to);
    const ready = this.prepare(config);
    const instances = [...new Set(ready.nodes.map((n) => n.instance))].sort();
    const req = startRelay(this, ControllerApi.checkConfiguration, reqid, to);
    if (req) this.gather.fanOut(req, instances, AgentApi.check, ready);
  }

  /** READY: instance addresses from peered agents, then ports. */
  private prepare(config: Configuration): Configuration {
    const seen = new Map(this.instances.known().map((i) => [i.name, i.host]));
    let ready: Configuration = {
      ...config,
      instances: config.instances.map((inst) => {
        const host = seen.get(inst.name);
        return inst.host === '0.0.0.0' && host && host !== '0.0.0.0' ? { ...inst, host } : inst;
      }),
    };
    const reserved = [this.clientPort, this.agentPort];
    if (this.options.autoAssignPorts) ready = assignBrokerPorts(ready, this.options.portStart, reserved);
    ready = this.options.autoAssignPorts ? assignBackendPorts(ready, this.options.portStart, reserved) : { ...ready, cluster: { ...ready.cluster, backend: backendOf(ready) } };
    if (this.options.autoAssignMetricsPorts) ready = assignMetricsPorts(ready, this.options.metricsPortStart, reserved);
    return ready;
  }

  private uploadBundle(reqid: string, hash: string, offset: number, total: number, data: string, to: string): void {
    let outcome;
    try {
      outcome = this.uploads.accept(hash, offset, total, data);
    } catch (err) {
      this.log.error({ reqid, hash, err: (err as Error).message }, 'could not store a script bundle');
      outcome = { ok: false as const, error: `could not store the bundle: ${(err as Error).message}` };
    }
    if (outcome.ok && outcome.value === total) this.log.info({ reqid, hash, bytes: total }, `script bundle ${hash} is stored`);
    this.respond(ControllerApi.uploadBundle, reqid, [outcome.ok ? success(reqid, { data: count(outcome.value) }) : failure(reqid, outcome.error)], to);
  }

  /** An agent fetching a chunk of a stored bundle; only an agent that said hello gets an answer (on its topic). */
  private fetchBundle(reqid: string, hash: string, offset: number, from: PeerInfo): void {
    const instance = this.instances.nameOf(from.id);
    this.log.info({ reqid, instance, peer: from.id, hash, offset }, 'rx fetch_bundle_request');
    if (instance === undefined) {
      this.endpoint.sendError(from.id, ErrorCode.invalidData, 'fetch_bundle_request from a peer that has not said notify_agent_hello');
      return;
    }
    const chunk = bundleChunk(this.store, hash, offset);
    const result = chunk.ok ? success(reqid, { instance, data: chunk.value }) : failure(reqid, chunk.error, { instance });
    this.endpoint.publishEvent(agentTopic(instance), AgentApi.fetchBundle.respond(reqid, [result]), { to: from.id });
  }

  private getConfiguration(reqid: string, deployed: boolean, to: string): void {
    const config = deployed ? this.states.deployed : this.states.staged;
    const result = config
      ? success(reqid, { data: encodeConfiguration(config) })
      : failure(reqid, `no ${deployed ? 'deployed' : 'staged'} configuration available`);
    this.respond(ControllerApi.getConfiguration, reqid, [result], to);
  }

  private hello(instance: string, id: string, connecting: boolean, version: number, from: PeerInfo): void {
    this.log.info({ instance, id, connecting, apiVersion: version, peer: from.id }, 'rx notify_agent_hello');
    if (from.principal !== agentRole(instance)) {
      // Not told on the instance's topic: the session is not that instance's agent.
      const msg = `refused a hello as instance ${instance} from a session proven as ${from.principal ?? 'nobody'}`;
      this.log.warn({ instance, peer: from.id, role: from.principal }, msg);
      this.endpoint.sendError(from.id, ErrorCode.invalidData, msg);
      this.endpoint.disconnect(from.id, 1008, 'hello for another instance');
      return;
    }
    const refuse = (msg: string, reason: string): void => {
      this.log.error({ instance, id, apiVersion: version, peer: from.id }, msg);
      this.refuseAgent(instance, from, msg, reason);
    };
    if (version !== API_VERSION) {
      return refuse(`instance ${instance}/${id} has checked in with incompatible API version ${version}; this controller speaks version ${API_VERSION}`, 'incompatible API version');
    }
    // The name becomes a topic and (on the agent) a directory; the session must hear its own topic, or nothing sent to it arrives.
    if (!USABLE_NAME.test(instance)) return refuse(`refusing hello: instance name ${JSON.stringify(truncate(instance, 200))} is not usable`, 'bad instance name');
    if (!topicMatches(from.subscriptions, agentTopic(instance))) {
      return refuse(`refusing hello from instance ${instance}: its session does not subscribe to ${agentTopic(instance)}`, 'not subscribed to its topic');
    }
    const refusal = this.instances.refusal(instance, id, from, connecting);
    if (refusal) {
      // A refused agent keeps retrying: a warning the first time, for each agent process.
      const again = this.refused.has(id);
      if (!again && this.refused.size >= MAX_REFUSED_REMEMBERED) this.refused.clear();
      this.refused.add(id);
      this.log[again ? 'info' : 'warn']({ instance, id, peer: from.id, remote: `${from.remoteAddress}:${from.remotePort}` }, refusal);
      return this.refuseAgent(instance, from, `controller ${this.name}: ${refusal}`, 'instance name in use');
    }
    const how = this.instances.hello(instance, id, from, connecting);
    const says = { new: 'newly checked in', again: 'checked in again', 'second-path': 'also reachable on another session; keeping the one in use' };
    this.log.info({ instance, peer: from.id, agentId: id }, `instance ${instance} ${says[how]}`);
    if (how !== 'second-path') this.toClients(ControllerApi.notifyInstanceState.make(instance, true, addressOf(from)), { instance, connected: true });
    this.deployer.helloFrom(instance);
  }

  /** Tells an agent why it is refused (a notify_error and a Broker error, which it logs) and disconnects it. */
  private refuseAgent(instance: string, peer: PeerInfo, why: string, closeReason: string): void {
    this.endpoint.publishEvent(agentTopic(instance), AgentApi.notifyError.make(instance, why, ''), { to: peer.id });
    this.endpoint.sendError(peer.id, ErrorCode.invalidData, why);
    this.endpoint.disconnect(peer.id, 1008, closeReason);
  }

  private peerLost(peer: PeerInfo): void {
    const name = this.instances.lost(peer.id);
    if (!name) return;
    this.log[this.states.deployed?.instances.some((i) => i.name === name) ? 'warn' : 'info']({ instance: name, peer: peer.id },
      `instance ${name} disconnected; dropped from known instances`);
    this.toClients(ControllerApi.notifyInstanceState.make(name, false, addressOf(peer)), { instance: name, connected: false });
    this.gather.instanceLost(name);
  }

  private forward(event: ZeekEvent, summary: object): void {
    this.log.info(summary, `rx ${event.name}`);
    this.toClients(event, summary);
  }
}

/** Who sent a request, for the deployment history: the client session's address. */
function clientName(from: PeerInfo): string {
  return `client ${addressOf(from)}`;
}
