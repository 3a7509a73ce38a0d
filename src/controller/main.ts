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
  agentTopic, encodeConfiguration, encodeInstance, failure, success, type Configuration, type InvalidEvent,
  type RequestKind, type Result,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { StateLock } from '../management/state-lock.js';
import { Endpoint, ErrorCode, str, vector, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import type { ControllerOptions } from './config.js';
import type { ControllerContext } from './context.js';
import { Deployer } from './deploy.js';
import { Gatherer } from './gather.js';
import { InstanceRegistry, addressOf } from './instances.js';
import { assignBackendPorts, assignBrokerPorts, assignMetricsPorts } from './ports.js';
import { getIdValue, getNodes, restart, testTimeout } from './relay.js';
import { ConfigStates } from './state.js';
import { ControllerStore } from './store.js';
import { validateConfiguration } from './validate.js';

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
  const log = options.logger ?? createLogger({ name: options.name, role: 'controller', stateDir: options.stateDir, ...(options.logLevel ? { level: options.logLevel } : {}), ...(options.logFormat ? { format: options.logFormat } : {}) });
  let store: ControllerStore | undefined;
  let runtime: ControllerRuntime | undefined;
  try {
    store = ControllerStore.open(options.stateDir);
    runtime = new ControllerRuntime(options, store, log);
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
  /** Agent processes (hello ids) refused so far. */
  private readonly refused = new Set<string>();

  constructor(readonly options: ControllerOptions, readonly store: ControllerStore, readonly log: ManagementLogger) {
    this.name = options.name;
    this.stateDir = options.stateDir;
    this.states = new ConfigStates(store, log);
    this.endpoint = new Endpoint({ id: `${options.name}-${randomUUID()}`, version: `zeek-mgmt/${API_VERSION}`, logger: log });
    this.tracker = new RequestTracker(options.requestTimeoutMs);
    this.instances = new InstanceRegistry(this.endpoint, options.dialRetryMaxMs);
    this.gather = new Gatherer(this.tracker, log, (instance, event, reqid) => this.toAgent(instance, event, reqid));
    this.deployer = new Deployer(this);
  }

  async start(): Promise<void> {
    this.endpoint.subscribe(TOPIC_CONTROLLER, this.clientApi().handle);
    this.endpoint.subscribe(TOPIC_AGENT_PREFIX, this.agentApi().handle);
    this.endpoint.on('peer-down', (peer) => this.peerLost(peer));
    this.endpoint.on('peer-up', (peer) => this.log.debug({ peer: peer.id, remote: `${peer.remoteAddress}:${peer.remotePort}`, direction: peer.direction }, 'peer added'));
    const { clientHost, agentHost } = this.options;
    this.clientPort = (await this.endpoint.listen({ host: clientHost, port: this.options.clientPort, name: 'clients', publishTopics: [TOPIC_CONTROLLER], pingIntervalMs: CLIENT_PING_INTERVAL_MS })).port;
    this.agentPort = (await this.endpoint.listen({ host: agentHost, port: this.options.agentPort, name: 'agents', publishTopics: [TOPIC_AGENT_PREFIX], relay: false })).port;
    this.log.info({ clients: `${clientHost}:${this.clientPort}`, agents: `${agentHost}:${this.agentPort}`, stateDir: this.stateDir, endpoint: this.endpoint.id },
      `controller is live: clients on ${clientHost}:${this.clientPort}, agents on ${agentHost}:${this.agentPort}`);
    const deployed = this.states.deployed;
    if (deployed) {
      this.log.info({ config: deployed.id }, `re-deploying persisted configuration ${deployed.id} as agents appear`);
      this.instances.require(deployed.instances);
    }
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

  respond(spec: RequestKind, reqid: string, results: readonly Result[]): void {
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
    const rx = (spec: RequestKind, fields: object): void => this.log.info(fields, `rx ${spec.kind}_request`);
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
      .serve(api.deploy, (reqid) => { rx(api.deploy, { reqid }); this.deployer.deploy(reqid); })
      .serve(api.getNodes, (reqid) => { rx(api.getNodes, { reqid }); getNodes(this, reqid); })
      .serve(api.getIdValue, (reqid, [id, nodes]) => { rx(api.getIdValue, { reqid, id, nodes }); getIdValue(this, reqid, id, nodes); })
      .serve(api.restart, (reqid, [nodes]) => { rx(api.restart, { reqid, nodes }); restart(this, reqid, nodes); })
      .serve(api.testTimeout, (reqid, [withState]) => { rx(api.testTimeout, { reqid, withState }); testTimeout(this, reqid, withState); });
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
      .on(AgentApi.notifyChange, (args) => {
        this.forward(AgentApi.notifyChange.make(...args), { instance: args[0], node: args[1].name, old: args[2], new: args[3] });
        this.deployer.nodeState(args[1].name, args[3]);
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

  private stage(reqid: string, config: Configuration): void {
    const respond = (results: Result[]): void => this.respond(ControllerApi.stageConfiguration, reqid, results);
    const errors = validateConfiguration(config, { controllerPort: this.agentPort, clientPort: this.clientPort, autoAssignPorts: this.options.autoAssignPorts });
    if (errors.length > 0) {
      this.log.warn({ reqid, config: config.id, errors }, `configuration ${config.id} rejected`);
      return respond(errors.map((e) => failure(reqid, e)));
    }
    try {
      this.states.stage(config, this.prepare(config));
    } catch (err) {
      this.log.error({ reqid, err: (err as Error).message }, 'could not persist the staged configuration');
      return respond([failure(reqid, `could not store the configuration: ${(err as Error).message}`)]);
    }
    respond([success(reqid, { data: str(config.id) })]);
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
      return this.refuseAgent(instance, from, `${msg}; this controller speaks version ${API_VERSION}`, 'incompatible API version');
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
