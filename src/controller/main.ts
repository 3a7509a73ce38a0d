/**
 * The controller runtime: takes client requests, validates, assigns ports
 * and persists configurations, deploys them to agents and aggregates their
 * answers. Every client request that needs agents owns child requests in
 * one RequestTracker; the client gets what arrived when all answered or the
 * request timed out.
 */
import { randomUUID } from 'node:crypto';
import {
  API_VERSION, AgentApi, ControllerApi, EventDispatcher, REQUEST_TIMED_OUT, RequestTracker, TOPIC_AGENT_PREFIX,
  TOPIC_CONTROLLER, agentTopic, failure, success, type Configuration, type InvalidEvent, type Request, type Result,
  type State,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { Endpoint, ErrorCode, str, vector, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import { encodeConfiguration, encodeInstance } from '../management/records.js';
import type { ControllerOptions } from './config.js';
import { InstanceRegistry } from './instances.js';
import { assignBrokerPorts, assignMetricsPorts } from './ports.js';
import { ControllerStore } from './store.js';
import { validateConfiguration } from './validate.js';

export type { ControllerOptions } from './config.js';

export interface Controller {
  readonly name: string;
  readonly clientPort: number;
  readonly agentPort: number;
  readonly stateDir: string;
  close(): Promise<void>;
}

type Kind = 'deploy' | 'get_nodes' | 'get_id_value' | 'restart' | 'test_timeout';

/** A client request (or an internal deployment) waiting for agents. */
interface Gather {
  kind: Kind;
  outstanding: Set<string>;
  results: Result[];
  /** Only for deployments. */
  deploy?: { config: Configuration; internal: boolean; sent: boolean };
}

/** A request to one agent, owned by a Gather. */
interface Child { instance: string }

export async function startController(options: ControllerOptions): Promise<Controller> {
  const log = options.logger ?? createLogger({ name: options.name, role: 'controller', stateDir: options.stateDir, ...(options.logLevel ? { level: options.logLevel } : {}) });
  const store = ControllerStore.open(options.stateDir);
  let runtime: ControllerRuntime | undefined;
  try {
    runtime = new ControllerRuntime(options, store, log);
    await runtime.start();
    return runtime;
  } catch (err) {
    await runtime?.close();
    store.close();
    throw err;
  }
}

class ControllerRuntime implements Controller {
  readonly name: string;
  clientPort = 0;
  agentPort = 0;
  readonly stateDir: string;
  private readonly endpoint: Endpoint;
  private readonly tracker: RequestTracker;
  private readonly instances: InstanceRegistry;
  private staged: Configuration | undefined;
  private ready: Configuration | undefined;
  private deployed: Configuration | undefined;
  private pendingDeploy = '';
  /** Node states of the deployed configuration, from agents' notify_change. */
  private readonly nodeStates = new Map<string, State>();
  private clusterReadyFor = '';

  constructor(private readonly options: ControllerOptions, private readonly store: ControllerStore, private readonly log: ManagementLogger) {
    this.name = options.name;
    this.stateDir = options.stateDir;
    this.staged = store.load('staged');
    this.ready = store.load('ready');
    this.deployed = store.load('deployed');
    this.endpoint = new Endpoint({ id: `${options.name}-${randomUUID()}`, version: `zeek-mgmt/${API_VERSION}`, logger: log });
    this.tracker = new RequestTracker(options.requestTimeoutMs);
    this.instances = new InstanceRegistry(this.endpoint, options.dialRetryMaxMs);
  }

  async start(): Promise<void> {
    const clientApi = new EventDispatcher((p) => this.invalid(p))
      .on(ControllerApi.getInstancesRequest, ([reqid]) => this.getInstances(reqid))
      .on(ControllerApi.stageConfigurationRequest, ([reqid, config]) => this.stage(reqid, config))
      .on(ControllerApi.getConfigurationRequest, ([reqid, deployed]) => this.getConfiguration(reqid, deployed))
      .on(ControllerApi.deployRequest, ([reqid]) => this.deploy(reqid, false))
      .on(ControllerApi.getNodesRequest, ([reqid]) => this.getNodes(reqid))
      .on(ControllerApi.getIdValueRequest, ([reqid, id, nodes]) => this.dispatchToNodes(reqid, 'get_id_value', nodes, ['get_id_value', id]))
      .on(ControllerApi.restartRequest, ([reqid, nodes]) => this.dispatchToNodes(reqid, 'restart', nodes))
      .on(ControllerApi.testTimeoutRequest, ([reqid, withState]) => this.testTimeout(reqid, withState))
      // Our own responses and notifications come back to us from nowhere; other
      // clients' traffic on the topic (responses they see) is not for us.
      .ignore(...Object.values(ControllerApi).filter((e) => !e.name.endsWith('_request')).map((e) => e.name));
    const agentApi = new EventDispatcher((p) => this.invalid(p))
      .on(AgentApi.notifyAgentHello, ([instance, id, connecting, version], from) => this.hello(instance, id, connecting, version, from))
      .on(AgentApi.agentWelcomeResponse, ([reqid, result]) => this.welcomed(reqid, result))
      .on(AgentApi.agentStandbyResponse, ([reqid, result]) => this.log.info({ reqid, instance: result.instance, success: result.success }, 'rx agent_standby_response'))
      .on(AgentApi.deployResponse, ([reqid, results]) => this.childAnswered(reqid, results, 'deploy_response'))
      .on(AgentApi.getNodesResponse, ([reqid, result]) => this.childAnswered(reqid, [result], 'get_nodes_response'))
      .on(AgentApi.nodeDispatchResponse, ([reqid, results]) => this.childAnswered(reqid, results, 'node_dispatch_response'))
      .on(AgentApi.restartResponse, ([reqid, results]) => this.childAnswered(reqid, results, 'restart_response'))
      .on(AgentApi.notifyChange, (args) => this.forwardNotification(AgentApi.notifyChange.make(...args), { instance: args[0], node: args[1].name, old: args[2], new: args[3] }, () => this.trackNodeState(args[1].name, args[3])))
      .on(AgentApi.notifyError, (args) => this.forwardNotification(AgentApi.notifyError.make(...args), { instance: args[0], msg: args[1], node: args[2] }))
      .on(AgentApi.notifyLog, (args) => this.forwardNotification(AgentApi.notifyLog.make(...args), { instance: args[0], msg: args[1], node: args[2] }))
      // Requests we send to agents travel on the same topic prefix.
      .ignore(...Object.values(AgentApi).filter((e) => e.name.endsWith('_request')).map((e) => e.name));
    this.endpoint.subscribe(TOPIC_CONTROLLER, clientApi.handle);
    this.endpoint.subscribe(TOPIC_AGENT_PREFIX, agentApi.handle);
    this.endpoint.on('peer-down', (peer) => this.peerLost(peer));
    this.endpoint.on('peer-up', (peer) => this.log.debug({ peer: peer.id, remote: `${peer.remoteAddress}:${peer.remotePort}`, direction: peer.direction }, 'peer added'));

    const clients = await this.endpoint.listen({ host: this.options.clientHost, port: this.options.clientPort, name: 'clients' });
    const agents = await this.endpoint.listen({ host: this.options.agentHost, port: this.options.agentPort, name: 'agents' });
    this.clientPort = clients.port;
    this.agentPort = agents.port;
    this.log.info({
      clients: `${this.options.clientHost}:${clients.port}`, agents: `${this.options.agentHost}:${agents.port}`,
      stateDir: this.stateDir, endpoint: this.endpoint.id,
    }, `controller is live: clients on ${this.options.clientHost}:${clients.port}, agents on ${this.options.agentHost}:${agents.port}`);
    if (this.deployed) {
      this.log.info({ config: this.deployed.id }, `re-deploying persisted configuration ${this.deployed.id} as agents appear`);
      this.instances.require(this.deployed.instances);
    }
  }

  async close(): Promise<void> {
    this.tracker.close();
    await this.instances.close();
    await this.endpoint.close();
    this.store.close();
  }

  // ---- sending -------------------------------------------------------------

  private toClients(event: ZeekEvent, summary: object = {}): void {
    this.log.info({ ...summary, event: event.name }, `tx ${event.name}`);
    this.endpoint.publishEvent(TOPIC_CONTROLLER, event);
  }

  /** Sends to an agent's session; false if the agent has none. */
  private toAgent(instance: string, event: ZeekEvent, reqid: string): boolean {
    const session = this.instances.session(instance);
    if (!session) return false;
    this.log.info({ reqid, instance, event: event.name }, `tx ${event.name} to ${instance}`);
    this.endpoint.publishEvent(agentTopic(instance), event, { to: session.peer.id });
    return true;
  }

  private invalid(problem: InvalidEvent): void {
    this.log.error({ peer: problem.from.id, topic: problem.topic, event: problem.event, error: problem.error }, 'rejected malformed event');
    this.endpoint.sendError(problem.from.id, ErrorCode.invalidData, problem.error);
  }

  // ---- simple requests ----------------------------------------------------

  private getInstances(reqid: string): void {
    this.log.info({ reqid }, 'rx get_instances_request');
    const data = vector(this.instances.known().map(encodeInstance));
    this.toClients(ControllerApi.getInstancesResponse.make(reqid, success(reqid, { data })), { reqid });
  }

  private stage(reqid: string, config: Configuration): void {
    this.log.info({ reqid, config: config.id, instances: config.instances.length, nodes: config.nodes.length }, 'rx stage_configuration_request');
    const errors = validateConfiguration(config, { controllerPort: this.agentPort, autoAssignPorts: this.options.autoAssignPorts });
    if (errors.length > 0) {
      this.log.warn({ reqid, config: config.id, errors }, 'configuration rejected');
      this.toClients(ControllerApi.stageConfigurationResponse.make(reqid, errors.map((e) => failure(reqid, e))), { reqid, errors: errors.length });
      return;
    }
    const ready = this.prepare(config);
    try {
      this.store.saveStaged(config, ready);
    } catch (err) {
      this.log.error({ reqid, err: (err as Error).message }, 'could not persist the staged configuration');
      this.toClients(ControllerApi.stageConfigurationResponse.make(reqid, [failure(reqid, `could not store the configuration: ${(err as Error).message}`)]), { reqid });
      return;
    }
    this.staged = config;
    this.ready = ready;
    this.log.info({ config: config.id, state: 'STAGED' }, `configuration ${config.id} staged and ready`);
    this.toClients(ControllerApi.stageConfigurationResponse.make(reqid, [success(reqid, { data: str(config.id) })]), { reqid, config: config.id });
  }

  /** READY: instance addresses from peered agents, then ports. */
  private prepare(config: Configuration): Configuration {
    const known = new Map(this.instances.known().map((i) => [i.name, i]));
    let ready: Configuration = {
      ...config,
      instances: config.instances.map((inst) => {
        const seen = known.get(inst.name);
        return inst.host === '0.0.0.0' && seen && seen.host !== '0.0.0.0' ? { ...inst, host: seen.host } : inst;
      }),
    };
    const reserved = [this.clientPort, this.agentPort];
    if (this.options.autoAssignPorts) ready = assignBrokerPorts(ready, this.options.portStart, reserved);
    if (this.options.autoAssignMetricsPorts) ready = assignMetricsPorts(ready, this.options.metricsPortStart, reserved);
    return ready;
  }

  private getConfiguration(reqid: string, deployed: boolean): void {
    this.log.info({ reqid, deployed }, 'rx get_configuration_request');
    const config = deployed ? this.deployed : this.staged;
    const result = config
      ? success(reqid, { data: encodeConfiguration(config) })
      : failure(reqid, `no ${deployed ? 'deployed' : 'staged'} configuration available`);
    this.toClients(ControllerApi.getConfigurationResponse.make(reqid, result), { reqid, success: result.success });
  }

  private testTimeout(reqid: string, withState: boolean): void {
    this.log.info({ reqid, withState }, 'rx test_timeout_request');
    if (withState) this.track(reqid, { kind: 'test_timeout', outstanding: new Set(), results: [] });
  }

  // ---- requests that gather from agents -------------------------------------

  private track(reqid: string, gather: Gather): Request<Gather> {
    return this.tracker.create<Gather>({ id: reqid, state: gather, onTimeout: (req) => this.expired(req) });
  }

  private expired(req: Request<Gather>): void {
    for (const child of this.tracker.children(req.id)) this.tracker.finish(child.id);
    this.log.warn({ reqid: req.id, kind: req.state.kind, waitingFor: [...req.state.outstanding] }, 'request timed out');
    this.complete(req, [failure(req.id, REQUEST_TIMED_OUT)], 'timeout');
  }

  /** Sends one child request per instance; completes at once if there is nobody to ask. */
  private fanOut(req: Request<Gather>, instances: readonly string[], make: (childId: string) => ZeekEvent): void {
    for (const instance of instances) {
      const child = this.tracker.create<Child>({ parent: req.id, state: { instance }, timeoutMs: this.options.requestTimeoutMs + 1000, onTimeout: () => undefined });
      req.state.outstanding.add(child.id);
      if (!this.toAgent(instance, make(child.id), child.id)) {
        this.tracker.finish(child.id);
        req.state.outstanding.delete(child.id);
        req.state.results.push(failure(req.id, `instance ${instance} is not connected`, { instance }));
      }
    }
    if (req.state.outstanding.size === 0) this.complete(req, []);
  }

  private childAnswered(childId: string, results: Result[], event: string): void {
    const child = this.tracker.finish<Child>(childId);
    if (!child || child.parent === undefined) {
      this.log.warn({ reqid: childId, event }, `ignoring ${event} for an unknown or expired request`);
      return;
    }
    this.log.info({ reqid: childId, parent: child.parent, instance: child.state.instance, results: results.length }, `rx ${event}`);
    const req = this.tracker.get<Gather>(child.parent);
    if (!req) return;
    req.state.outstanding.delete(childId);
    // Agents' results go to the client as they came (the original does the same).
    req.state.results.push(...results);
    if (req.state.outstanding.size === 0) this.complete(req, []);
  }

  private complete(req: Request<Gather>, extra: Result[], outcome?: 'timeout'): void {
    this.tracker.finish(req.id);
    const results = [...req.state.results, ...extra];
    const g = req.state;
    switch (g.kind) {
      case 'deploy':
        this.finishDeploy(req.id, g, results, outcome);
        return;
      case 'get_nodes':
        this.toClients(ControllerApi.getNodesResponse.make(req.id, results), { reqid: req.id, results: results.length });
        return;
      case 'get_id_value':
        this.toClients(ControllerApi.getIdValueResponse.make(req.id, results), { reqid: req.id, results: results.length });
        return;
      case 'restart':
        this.toClients(ControllerApi.restartResponse.make(req.id, results), { reqid: req.id, results: results.length });
        return;
      case 'test_timeout':
        this.toClients(ControllerApi.testTimeoutResponse.make(req.id, results[0] ?? failure(req.id, REQUEST_TIMED_OUT)), { reqid: req.id });
    }
  }

  private getNodes(reqid: string): void {
    this.log.info({ reqid }, 'rx get_nodes_request');
    const names = this.instances.knownNames();
    if (names.length === 0) {
      this.toClients(ControllerApi.getNodesResponse.make(reqid, [failure(reqid, 'no instances connected')]), { reqid });
      return;
    }
    const req = this.track(reqid, { kind: 'get_nodes', outstanding: new Set(), results: [] });
    this.fanOut(req, names, (id) => AgentApi.getNodesRequest.make(id));
  }

  /** get_id_value and restart: relay to the agents running the deployed configuration. */
  private dispatchToNodes(reqid: string, kind: 'get_id_value' | 'restart', nodes: string[], action?: string[]): void {
    this.log.info({ reqid, nodes, action }, `rx ${kind}_request`);
    const respond = (results: Result[]): void => {
      const event = kind === 'restart' ? ControllerApi.restartResponse.make(reqid, results) : ControllerApi.getIdValueResponse.make(reqid, results);
      this.toClients(event, { reqid, results: results.length });
    };
    if (kind === 'restart' && this.instances.knownNames().length === 0) return respond([failure(reqid, 'no instances connected')]);
    const deployed = this.deployed;
    if (!deployed || deployed.instances.length === 0) {
      return respond([failure(reqid, kind === 'restart' ? 'no active cluster deployment' : 'no cluster deployed')]);
    }
    const inCluster = new Set(deployed.nodes.map((n) => n.name));
    const unknown = [...new Set(nodes)].filter((n) => !inCluster.has(n)).sort();
    const wanted = nodes.filter((n) => inCluster.has(n));
    const req = this.track(reqid, { kind, outstanding: new Set(), results: unknown.map((node) => failure(reqid, 'unknown cluster node', { node })) });
    if (nodes.length > 0 && wanted.length === 0) return this.complete(req, []);
    const hosting = new Set(deployed.nodes.filter((n) => nodes.length === 0 || wanted.includes(n.name)).map((n) => n.instance));
    const targets = [...hosting].filter((name) => this.instances.ready.has(name) || this.instances.session(name)).sort();
    this.fanOut(req, targets, (id) => (kind === 'restart'
      ? AgentApi.restartRequest.make(id, wanted)
      : AgentApi.nodeDispatchRequest.make(id, action!, wanted)));
  }

  // ---- deployment ---------------------------------------------------------

  private deploy(reqid: string, internal: boolean, config = this.ready): void {
    if (!internal) this.log.info({ reqid }, 'rx deploy_request');
    if (!config) {
      this.toClients(ControllerApi.deployResponse.make(reqid, [failure(reqid, 'no configuration available to deploy')]), { reqid });
      return;
    }
    if (this.pendingDeploy !== '') {
      if (internal) return;
      this.toClients(ControllerApi.deployResponse.make(reqid, [failure(reqid, `earlier deployment ${this.pendingDeploy} still pending`)]), { reqid });
      return;
    }
    this.pendingDeploy = reqid;
    const req = this.track(reqid, { kind: 'deploy', outstanding: new Set(), results: [], deploy: { config, internal, sent: false } });
    this.store.startDeployment(reqid, config.id);
    this.log.info({ reqid, config: config.id, internal }, `deploying configuration ${config.id}`);
    const dropped = this.instances.require(config.instances).filter((n) => !config.instances.some((i) => i.name === n));
    for (const name of dropped) this.toAgent(name, AgentApi.agentStandbyRequest.make(randomUUID()), '');
    for (const known of this.instances.knownNames()) {
      if (!this.instances.required.has(known) && !dropped.includes(known)) this.toAgent(known, AgentApi.agentStandbyRequest.make(randomUUID()), '');
    }
    if (config.instances.length === 0) {
      this.sendDeployment(req);
      return;
    }
    for (const name of this.instances.notReady()) this.welcome(name);
    this.maybeSendDeployment();
  }

  private welcome(instance: string): void {
    const id = randomUUID();
    this.tracker.create<Child>({ id, state: { instance }, onTimeout: () => this.log.warn({ instance }, `agent ${instance} did not answer the welcome`) });
    if (!this.toAgent(instance, AgentApi.agentWelcomeRequest.make(id), id)) this.tracker.finish(id);
  }

  private welcomed(reqid: string, result: Result): void {
    const req = this.tracker.finish<Child>(reqid);
    if (!req) {
      this.log.warn({ reqid }, 'ignoring agent_welcome_response for an unknown or expired request');
      return;
    }
    const instance = req.state.instance;
    this.log.info({ reqid, instance, success: result.success }, 'rx agent_welcome_response');
    if (!result.success || !this.instances.required.has(instance)) {
      this.toAgent(instance, AgentApi.agentStandbyRequest.make(randomUUID()), '');
      return;
    }
    this.instances.ready.add(instance);
    if (this.pendingDeploy !== '') {
      this.maybeSendDeployment();
    } else if (this.deployed && this.deployed.instances.some((i) => i.name === instance)) {
      // An agent came back: bring it to the deployed configuration (it does nothing if already there).
      const child = randomUUID();
      this.tracker.create<Child>({ id: child, state: { instance }, onTimeout: () => this.log.warn({ instance }, `agent ${instance} did not confirm the deployed configuration`) });
      this.log.info({ instance, config: this.deployed.id }, `bringing ${instance} back to configuration ${this.deployed.id}`);
      this.toAgent(instance, AgentApi.deployRequest.make(child, this.deployed, false), child);
    }
  }

  private maybeSendDeployment(): void {
    const req = this.tracker.get<Gather>(this.pendingDeploy);
    if (!req?.state.deploy || req.state.deploy.sent) return;
    const missing = this.instances.notReady();
    if (missing.length > 0) {
      this.log.info({ reqid: req.id, waitingFor: missing }, 'waiting for instances before deploying');
      return;
    }
    this.sendDeployment(req);
  }

  private sendDeployment(req: Request<Gather>): void {
    const d = req.state.deploy!;
    d.sent = true;
    this.deployed = d.config;
    this.store.saveDeployed(d.config);
    this.nodeStates.clear();
    this.clusterReadyFor = '';
    this.log.info({ reqid: req.id, config: d.config.id, state: 'DEPLOYED' }, `configuration ${d.config.id} sent to ${d.config.instances.length} instance(s)`);
    this.fanOut(req, d.config.instances.map((i) => i.name).sort(), (id) => AgentApi.deployRequest.make(id, d.config, false));
  }

  private finishDeploy(reqid: string, g: Gather, results: Result[], outcome?: 'timeout'): void {
    const d = g.deploy!;
    this.pendingDeploy = '';
    if (!d.sent) {
      const missing = this.instances.notReady();
      results.splice(results.length - 1, 0, ...missing.map((name) => failure(reqid, `instance ${name} did not check in`, { instance: name })));
    }
    const allGood = outcome === undefined && results.every((r) => r.success);
    const final = outcome === undefined ? [...results, success(reqid, { data: str(d.config.id) })] : results;
    this.store.endDeployment(reqid, outcome ?? (allGood ? 'success' : 'failure'), final);
    this.log.info({ reqid, config: d.config.id, outcome: outcome ?? (allGood ? 'success' : 'failure') }, `deployment of ${d.config.id} finished`);
    if (!d.internal) this.toClients(ControllerApi.deployResponse.make(reqid, final), { reqid, results: final.length });
    if (allGood && d.sent) {
      for (const n of d.config.nodes) this.nodeStates.set(n.name, 'RUNNING');
      this.announceIfReady();
    }
  }

  // ---- agents ---------------------------------------------------------------

  private hello(instance: string, id: string, connecting: boolean, version: number, from: PeerInfo): void {
    this.log.info({ instance, id, connecting, apiVersion: version, peer: from.id }, 'rx notify_agent_hello');
    if (version !== API_VERSION) {
      this.log.error({ instance, id, apiVersion: version }, `instance ${instance}/${id} has checked in with incompatible API version ${version}`);
      this.endpoint.sendError(from.id, ErrorCode.invalidData, `incompatible API version ${version}, this controller speaks ${API_VERSION}`);
      this.endpoint.disconnect(from.id, 1008, 'incompatible API version');
      return;
    }
    this.instances.hello(instance, from, connecting);
    if (this.instances.required.has(instance) && !this.instances.ready.has(instance)) this.welcome(instance);
  }

  private peerLost(peer: PeerInfo): void {
    const name = this.instances.lost(peer.id);
    if (name) this.log.info({ instance: name, peer: peer.id }, `instance ${name} disconnected`);
  }

  private trackNodeState(node: string, state: State): void {
    if (!this.deployed?.nodes.some((n) => n.name === node)) return;
    this.nodeStates.set(node, state);
    if (state !== 'RUNNING') this.clusterReadyFor = '';
    this.announceIfReady();
  }

  private announceIfReady(): void {
    const config = this.deployed;
    if (!config || this.pendingDeploy !== '' || this.clusterReadyFor === config.id || config.nodes.length === 0) return;
    if (!config.nodes.every((n) => this.nodeStates.get(n.name) === 'RUNNING')) return;
    this.clusterReadyFor = config.id;
    this.log.info({ config: config.id }, `every node of ${config.id} is RUNNING`);
    this.toClients(ControllerApi.notifyClusterReady.make(config.id), { config: config.id });
  }

  private forwardNotification(event: ZeekEvent, summary: object, then?: () => void): void {
    this.log.info(summary, `rx ${event.name}`);
    this.endpoint.publishEvent(TOPIC_CONTROLLER, event);
    then?.();
  }
}

