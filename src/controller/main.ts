/**
 * The controller runtime: one endpoint with two listeners (clients, agents),
 * the client API on the controller topic, the agent API on the agent topic
 * prefix. Simple requests are answered here; deployment (deploy.ts) and
 * relayed requests (relay.ts) gather agents' answers through one request
 * mechanism (gather.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  API_VERSION, backendOf, AgentApi, AgentNotifications, ControllerApi, EventDispatcher, RequestTracker, TOPIC_AGENT_PREFIX, TOPIC_CONTROLLER,
  agentTopic, encodeConfiguration, encodeInstance, failure, success, type Configuration, type InvalidEvent,
  type RequestKind, type Result,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { count, Endpoint, ErrorCode, HttpRouter, str, vector, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import type { ControllerOptions } from './config.js';
import type { ControllerContext } from './context.js';
import { BundleUploads, bundleChunk } from './bundles.js';
import { Deployer } from './deploy.js';
import { Gatherer } from './gather.js';
import { ControllerMetrics, prometheusRoutes } from './metrics.js';
import { addDashboardRoutes, dashboardUrl } from './dashboard.js';
import { sessionRole } from './session-role.js';
import { InstanceRegistry } from './instances.js';
import { assignBackendPorts, assignBrokerPorts, assignMetricsPorts } from './ports.js';
import { df, getIdValue, getNodes, restart, startRelay, testTimeout } from './relay.js';
import { diag, getConfigurationById, getDeployments, rollback, rollingRestart, start, stop } from './operations.js';
import { ConfigStates } from './state.js';
import { ControllerStore } from './store.js';
import { validateConfiguration } from './validate.js';

export type { ControllerOptions } from './config.js';

/**
 * zeek-client's read timeout restarts on every ping it gets, so pinging its
 * session more often than its request timeout (20 s by default) would keep
 * it waiting forever for a response that never comes (test-timeout).
 */
const CLIENT_PING_INTERVAL_MS = 60_000;

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
  close(): Promise<void>;
}

/** Starts a controller; rejects (with a StoreError for a bad database) if it cannot. */
export async function startController(options: ControllerOptions): Promise<Controller> {
  const log = options.logger ?? createLogger({ name: options.name, role: 'controller', stateDir: options.stateDir, ...(options.logLevel ? { level: options.logLevel } : {}) });
  const store = ControllerStore.open(options.stateDir);
  let runtime: ControllerRuntime | undefined;
  try {
    runtime = new ControllerRuntime(options, store, log);
    if (!options.logger) runtime.onClosed = () => log.close();
    await runtime.start();
    return runtime;
  } catch (err) {
    if (runtime) await runtime.close();
    else store.close();
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

  constructor(readonly options: ControllerOptions, readonly store: ControllerStore, readonly log: ManagementLogger) {
    this.name = options.name;
    this.stateDir = options.stateDir;
    this.states = new ConfigStates(store, log);
    this.endpoint = new Endpoint({ id: `${options.name}-${randomUUID()}`, version: `zeek-mgmt/${API_VERSION}`, logger: log });
    this.tracker = new RequestTracker(options.requestTimeoutMs);
    this.instances = new InstanceRegistry(this.endpoint, options.dialRetryMaxMs);
    this.gather = new Gatherer(this.tracker, log, (instance, event, reqid) => this.toAgent(instance, event, reqid));
    this.deployer = new Deployer(this);
    this.uploads = new BundleUploads(store);
    const prometheus = prometheusRoutes(this.metrics, () => this.states.deployed, () => this.instances.known());
    this.http
      .add('/services.json', { name: 'services', handler: prometheus.services })
      .add('/metrics', { name: 'metrics', handler: prometheus.metrics });
    addDashboardRoutes(this.http);
  }

  async start(): Promise<void> {
    this.endpoint.subscribe(TOPIC_CONTROLLER, this.clientApi().handle);
    this.endpoint.subscribe(TOPIC_AGENT_PREFIX, this.agentApi().handle);
    this.endpoint.on('peer-down', (peer) => this.peerLost(peer));
    this.endpoint.on('peer-up', (peer) => this.log.debug({ peer: peer.id, remote: `${peer.remoteAddress}:${peer.remotePort}`, direction: peer.direction }, 'peer added'));
    const { clientHost, agentHost } = this.options;
    this.clientPort = (await this.endpoint.listen({ host: clientHost, port: this.options.clientPort, name: 'clients', publishTopics: [TOPIC_CONTROLLER], pingIntervalMs: CLIENT_PING_INTERVAL_MS, router: this.http })).port;
    this.agentPort = (await this.endpoint.listen({ host: agentHost, port: this.options.agentPort, name: 'agents', publishTopics: [TOPIC_AGENT_PREFIX], relay: false })).port;
    this.log.info({ clients: `${clientHost}:${this.clientPort}`, agents: `${agentHost}:${this.agentPort}`, stateDir: this.stateDir, endpoint: this.endpoint.id },
      `controller is live: clients on ${clientHost}:${this.clientPort}, agents on ${agentHost}:${this.agentPort}`);
    const dashboard = dashboardUrl(clientHost, this.clientPort);
    this.log.info({ dashboard }, `dashboard at ${dashboard}`);
    const deployed = this.states.deployed;
    if (deployed) {
      this.log.info({ config: deployed.id }, `re-deploying persisted configuration ${deployed.id} as agents appear`);
      this.instances.require(deployed.instances);
    }
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

  respond(spec: RequestKind, reqid: string, results: readonly Result[]): void {
    this.metrics.finished(spec.kind, reqid, results.every((r) => r.success));
    this.toClients(spec.respond(reqid, results), { reqid, results: results.length, success: results.every((r) => r.success) });
  }

  toAgent(instance: string, event: ZeekEvent, reqid: string): boolean {
    const session = this.instances.session(instance);
    if (!session) return false;
    this.log.info({ reqid, instance, event: event.name }, `tx ${event.name} to ${instance}`);
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
    return new EventDispatcher([api, AgentNotifications], (p) => {
      this.invalid(p);
      if (p.request) this.respond(p.request.spec, p.request.reqid, [failure(p.request.reqid, `invalid request: ${p.error}`)]);
    })
      .serve(api.getInstances, (reqid) => { rx(api.getInstances, { reqid }); this.getInstances(reqid); })
      .serve(api.stageConfiguration, (reqid, [config]) => {
        rx(api.stageConfiguration, { reqid, config: config.id, instances: config.instances.length, nodes: config.nodes.length });
        this.stage(reqid, config);
      })
      .serve(api.getConfiguration, (reqid, [deployed]) => { rx(api.getConfiguration, { reqid, deployed }); this.getConfiguration(reqid, deployed); })
      .serve(api.deploy, (reqid, _args, from) => { rx(api.deploy, { reqid }); this.deployer.deploy(reqid, undefined, { answer: api.deploy, kind: 'deploy', who: clientName(from) }); })
      .serve(api.getNodes, (reqid) => { rx(api.getNodes, { reqid }); getNodes(this, reqid); })
      .serve(api.getIdValue, (reqid, [id, nodes]) => { rx(api.getIdValue, { reqid, id, nodes }); getIdValue(this, reqid, id, nodes); })
      .serve(api.restart, (reqid, [nodes]) => { rx(api.restart, { reqid, nodes }); restart(this, reqid, nodes); })
      .serve(api.testTimeout, (reqid, [withState]) => { rx(api.testTimeout, { reqid, withState }); testTimeout(this, reqid, withState); })
      .serve(api.checkConfiguration, (reqid, [config]) => {
        rx(api.checkConfiguration, { reqid, config: config.id, instances: config.instances.length, nodes: config.nodes.length });
        this.check(reqid, config);
      })
      // Ours (operations.ts).
      .serve(api.stop, (reqid, [nodes]) => { rx(api.stop, { reqid, nodes }); stop(this, reqid, nodes); })
      .serve(api.start, (reqid, [nodes]) => { rx(api.start, { reqid, nodes }); start(this, reqid, nodes); })
      .serve(api.rollingRestart, (reqid, [nodes]) => { rx(api.rollingRestart, { reqid, nodes }); rollingRestart(this, reqid, nodes); })
      .serve(api.getDeployments, (reqid, [limit]) => { rx(api.getDeployments, { reqid, limit }); getDeployments(this, reqid, limit); })
      .serve(api.getConfigurationById, (reqid, [id]) => { rx(api.getConfigurationById, { reqid, id }); getConfigurationById(this, reqid, id); })
      .serve(api.rollback, (reqid, [id], from) => {
        rx(api.rollback, { reqid, id });
        rollback(this, (r, config, how) => this.deployer.deploy(r, config, how), reqid, id, clientName(from));
      })
      .serve(api.deployWithRollback, (reqid, _args, from) => {
        rx(api.deployWithRollback, { reqid });
        this.deployer.deploy(reqid, undefined, { answer: api.deployWithRollback, kind: 'deploy', who: clientName(from), rollbackOnFailure: true });
      })
      .serve(api.diag, (reqid, [node]) => { rx(api.diag, { reqid, node }); diag(this, reqid, node); })
      .serve(api.uploadBundle, (reqid, [hash, offset, total, data]) => {
        rx(api.uploadBundle, { reqid, hash, offset, total, bytes: data.length });
        this.uploadBundle(reqid, hash, offset, total, data);
      })
      .serve(api.df, (reqid) => { rx(api.df, { reqid }); df(this, reqid); })
      .serve(api.getSessionRole, (reqid, _args, from) => {
        rx(api.getSessionRole, { reqid });
        this.respond(api.getSessionRole, reqid, [success(reqid, { data: str(sessionRole(from)) })]);
      });
  }

  private agentApi(): EventDispatcher {
    const gathered = (spec: RequestKind) => (reqid: string, results: Result[]): void => void this.gather.answered(reqid, results, `${spec.kind}_response`);
    return new EventDispatcher([AgentApi], (p) => this.invalid(p))
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
      .on(AgentApi.notifyChange, (args) => {
        this.forward(AgentApi.notifyChange.make(...args), { instance: args[0], node: args[1].name, old: args[2], new: args[3] });
        this.deployer.nodeState(args[1].name, args[3]);
        this.metrics.nodeChange(args[0], args[1].name, args[2], args[3]);
      })
      .on(AgentApi.notifyError, (args) => this.forward(AgentApi.notifyError.make(...args), { instance: args[0], text: args[1], node: args[2] }))
      .on(AgentApi.notifyLog, (args) => this.forward(AgentApi.notifyLog.make(...args), { instance: args[0], text: args[1], node: args[2] }));
  }

  /** A malformed or unknown event: logged and answered with a Broker error; nothing changes. */
  private invalid(problem: InvalidEvent): void {
    this.log.error({ peer: problem.from.id, topic: problem.topic, event: problem.event, error: problem.error }, `rejected malformed event: ${problem.error}`);
    this.endpoint.sendError(problem.from.id, ErrorCode.invalidData, problem.error);
  }

  private getInstances(reqid: string): void {
    const data = vector(this.instances.known().map(encodeInstance));
    this.respond(ControllerApi.getInstances, reqid, [success(reqid, { data })]);
  }

  /** The configuration's problems as failed Results (logged), or undefined when it is valid. */
  private rejected(reqid: string, config: Configuration): Result[] | undefined {
    const errors = validateConfiguration(config, { controllerPort: this.agentPort, autoAssignPorts: this.options.autoAssignPorts });
    const bundle = config.cluster?.bundle;
    if (bundle !== undefined && this.store.bundleSize(bundle) === undefined) {
      errors.push(`script bundle ${bundle} is not stored on this controller; upload it first (stage-config --scripts DIR, or [scripts] dir = DIR, does)`);
    }
    if (errors.length === 0) return undefined;
    this.log.warn({ reqid, config: config.id, errors }, `configuration ${config.id} rejected`);
    return errors.map((e) => failure(reqid, e));
  }

  private stage(reqid: string, config: Configuration): void {
    const respond = (results: Result[]): void => this.respond(ControllerApi.stageConfiguration, reqid, results);
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
  private check(reqid: string, config: Configuration): void {
    const problems = this.rejected(reqid, config);
    if (problems) return this.respond(ControllerApi.checkConfiguration, reqid, problems);
    const ready = this.prepare(config);
    const instances = [...new Set(ready.nodes.map((n) => n.instance))].sort();
    const req = startRelay(this, ControllerApi.checkConfiguration, reqid);
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

  private uploadBundle(reqid: string, hash: string, offset: number, total: number, data: string): void {
    let outcome;
    try {
      outcome = this.uploads.accept(hash, offset, total, data);
    } catch (err) {
      this.log.error({ reqid, hash, err: (err as Error).message }, 'could not store a script bundle');
      outcome = { ok: false as const, error: `could not store the bundle: ${(err as Error).message}` };
    }
    if (outcome.ok && outcome.value === total) this.log.info({ reqid, hash, bytes: total }, `script bundle ${hash} is stored`);
    this.respond(ControllerApi.uploadBundle, reqid, [outcome.ok ? success(reqid, { data: count(outcome.value) }) : failure(reqid, outcome.error)]);
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

  private getConfiguration(reqid: string, deployed: boolean): void {
    const config = deployed ? this.states.deployed : this.states.staged;
    const result = config
      ? success(reqid, { data: encodeConfiguration(config) })
      : failure(reqid, `no ${deployed ? 'deployed' : 'staged'} configuration available`);
    this.respond(ControllerApi.getConfiguration, reqid, [result]);
  }

  private hello(instance: string, id: string, connecting: boolean, version: number, from: PeerInfo): void {
    this.log.info({ instance, id, connecting, apiVersion: version, peer: from.id }, 'rx notify_agent_hello');
    if (version !== API_VERSION) {
      const msg = `instance ${instance}/${id} has checked in with incompatible API version ${version}`;
      this.log.error({ instance, id, apiVersion: version }, msg);
      this.endpoint.publishEvent(agentTopic(instance), AgentApi.notifyError.make(instance, `${msg}; this controller speaks version ${API_VERSION}`, ''), { to: from.id });
      this.endpoint.sendError(from.id, ErrorCode.invalidData, `${msg}; this controller speaks version ${API_VERSION}`);
      this.endpoint.disconnect(from.id, 1008, 'incompatible API version');
      return;
    }
    const how = this.instances.hello(instance, id, from, connecting);
    const says = { new: 'newly checked in', again: 'checked in again', 'second-path': 'also reachable on another session; keeping the one in use', replaced: 'checked in as a new agent process; it replaces the old session' };
    this.log.info({ instance, peer: from.id, agentId: id }, `instance ${instance} ${says[how]}`);
    if (how === 'new') this.toClients(ControllerApi.notifyInstanceChange.make(instance, true), { instance, connected: true });
    this.deployer.helloFrom(instance);
  }

  private peerLost(peer: PeerInfo): void {
    const name = this.instances.lost(peer.id);
    if (!name) return;
    this.log.info({ instance: name, peer: peer.id }, `instance ${name} disconnected; dropped from known instances`);
    this.toClients(ControllerApi.notifyInstanceChange.make(name, false), { instance: name, connected: false });
    this.gather.instanceLost(name);
  }

  private forward(event: ZeekEvent, summary: object): void {
    this.log.info(summary, `rx ${event.name}`);
    this.toClients(event, summary);
  }
}

/** Who sent a request, for the deployment history: the client session's address. */
function clientName(from: PeerInfo): string {
  return `client ${from.remoteAddress.replace(/^::ffff:/, '')}:${from.remotePort}`;
}
