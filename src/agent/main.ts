/**
 * The agent: one per instance. It listens for controllers and/or dials its
 * controller, says hello on every new controller session, and answers the
 * Agent API by driving the supervisor, which runs this instance's cluster
 * nodes. Node state changes and errors go to the controller as
 * notifications. Closing it either stops the nodes or leaves them running
 * for the next agent run to adopt.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  API_VERSION, AgentApi, EventDispatcher, agentTopic, encodeNodeStatus, failure, success,
  type InvalidEvent, type NodeStatus,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { Endpoint, ErrorCode, topicMatches, vector, type Link, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import { Archiver } from './archiver.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { createRuntime, findExecutable, type RuntimeKind, type ZeekVersion } from './runtimes/index.js';
import { StateLock } from './state-lock.js';
import { Supervisor } from './supervisor.js';

export interface AgentOptions {
  name: string;
  /** Listen for controllers (default true). */
  listen?: boolean;
  listenHost?: string;
  /** 0 picks a free port. Default 2151. */
  listenPort?: number;
  /** Dial the controller (default true). */
  connect?: boolean;
  controllerHost?: string;
  controllerPort?: number;
  stateDir: string;
  /** Default `<state dir>/spool`. */
  spoolDir?: string;
  runtime: RuntimeKind;
  zeekPath?: string;
  /** The zeek's version, read once (`zeek --version`) when the options were resolved; probed at start when absent. */
  zeekVersion?: ZeekVersion;
  nodeTimeoutMs?: number;
  stopGraceMs?: number;
  initialRestartBackoffMs?: number;
  maxRestartBackoffMs?: number;
  restartBackoffResetMs?: number;
  /** Where nodes rotate their logs to (default `<spool dir>/log-queue`). */
  logQueueDir?: string;
  /** Log archival: on (built in) unless false; `command` runs an external archiver instead. */
  archive?: { command?: string; intervalMs?: number; archiveDir?: string } | false;
  logger?: ManagementLogger;
  logLevel?: string;
  /** Lines worth logging at start (e.g. why this runtime was chosen). */
  notes?: string[];
  /** A controller running beside this agent (`zeek-mgmt up`), reported by get_nodes. */
  colocatedController?: { name: string; pid: number; port?: number };
}

export interface Agent {
  readonly name: string;
  readonly endpointId: string;
  /** The bound listen port, when listening. */
  readonly listenPort: number | undefined;
  readonly stateDir: string;
  close(options: { stopNodes: boolean }): Promise<void>;
}

export const DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 2151,
  controllerHost: '127.0.0.1',
  controllerPort: 2150,
  nodeTimeoutMs: 5000,
  stopGraceMs: 5000,
  maxRestartBackoffMs: 60_000,
  archiveIntervalMs: 300_000,
} as const;

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const log = options.logger ?? createLogger({ name: options.name, role: 'agent', stateDir, ...(options.logLevel ? { level: options.logLevel } : {}) });
  const lock = StateLock.acquire(stateDir);
  if (typeof lock === 'string') throw new Error(lock);
  let agent: AgentRuntime | undefined;
  try {
    agent = new AgentRuntime(options, stateDir, log, lock);
    if (!options.logger) agent.onClosed = () => log.close();
    await agent.start();
    return agent;
  } catch (err) {
    // Release what was set up so far (sockets, timers), leaving any node processes alone.
    await agent?.close({ stopNodes: false }).catch(() => undefined);
    lock.release();
    throw err;
  }
}

class AgentRuntime implements Agent {
  /** Releases what startAgent made for this runtime (its own logger's files). */
  onClosed: (() => void) | undefined;
  readonly name: string;
  readonly endpointId: string;
  listenPort: number | undefined;
  private readonly endpoint: Endpoint;
  private readonly supervisor: Supervisor;
  private readonly dispatcher: EventDispatcher;
  private readonly topic: string;
  private link: Link | undefined;
  private archiver: Archiver | undefined;
  /** The controller session that sent the latest request: where notifications go. */
  private controllerPeer: string | undefined;
  private closed = false;
  private readonly spoolDir: string;
  private readonly logQueueDir: string;
  private readonly runtimeDescription: string;

  constructor(private readonly options: AgentOptions, readonly stateDir: string, private readonly log: ManagementLogger, private readonly lock: StateLock) {
    this.name = options.name;
    this.topic = agentTopic(options.name);
    this.endpoint = new Endpoint({ logger: log });
    this.endpointId = this.endpoint.id;
    this.spoolDir = resolve(options.spoolDir ?? join(stateDir, 'spool'));
    mkdirSync(this.spoolDir, { recursive: true });
    this.logQueueDir = resolve(options.logQueueDir ?? join(this.spoolDir, 'log-queue'));
    const runtime = createRuntime(options.runtime, options.zeekPath ?? 'zeek', options.zeekVersion);
    this.runtimeDescription = runtime.describe;
    this.supervisor = new Supervisor({
      name: options.name,
      stateDir,
      spoolDir: this.spoolDir,
      logQueueDir: this.logQueueDir,
      runtime,
      log,
      nodeTimeoutMs: options.nodeTimeoutMs ?? DEFAULTS.nodeTimeoutMs,
      stopGraceMs: options.stopGraceMs ?? DEFAULTS.stopGraceMs,
      backoff: {
        ...DEFAULT_BACKOFF,
        ...(options.initialRestartBackoffMs === undefined ? {} : { initialMs: options.initialRestartBackoffMs }),
        maxMs: options.maxRestartBackoffMs ?? DEFAULTS.maxRestartBackoffMs,
        ...(options.restartBackoffResetMs === undefined ? {} : { resetAfterMs: options.restartBackoffResetMs }),
      },
      taskset: findExecutable('taskset'),
    });
    this.dispatcher = new EventDispatcher((p) => {
      log.warn({ peer: p.from.id, topic: p.topic, event: p.event, error: p.error }, 'invalid event');
      this.answerInvalid(p);
    });
    this.registerHandlers();
  }

  async start(): Promise<void> {
    const o = this.options;
    this.supervisor.on('change', (node, old, next) => this.notify(AgentApi.notifyChange.make(this.name, node, old, next)));
    this.supervisor.on('error', (msg, node) => this.notify(AgentApi.notifyError.make(this.name, msg, node)));
    this.supervisor.on('log', (msg, node) => this.notify(AgentApi.notifyLog.make(this.name, msg, node)));
    this.supervisor.recover();
    this.endpoint.subscribe(this.topic, this.dispatcher.handle);
    this.endpoint.on('peer-up', (peer) => {
      if (peer.direction === 'inbound' && topicMatches(peer.subscriptions, this.topic)) this.hello(peer, false);
    });
    this.endpoint.on('peer-down', (peer) => {
      if (peer.id === this.controllerPeer) this.controllerPeer = undefined;
    });
    if (o.listen !== false) {
      const bound = await this.endpoint.listen({ host: o.listenHost ?? DEFAULTS.listenHost, port: o.listenPort ?? DEFAULTS.listenPort, name: 'controllers' });
      this.listenPort = bound.port;
    }
    if (o.connect !== false) {
      const host = o.controllerHost ?? DEFAULTS.controllerHost;
      const port = o.controllerPort ?? DEFAULTS.controllerPort;
      this.link = this.endpoint.connect({ host, port, subscriptions: [this.topic], remoteTopics: [this.topic], retry: { initialMs: 250, maxMs: 5000 } });
      let reported = false;
      this.link.on('up', (peer) => {
        reported = false;
        this.log.info({ controller: `${host}:${port}`, peer: peer.id }, 'connected to controller');
        this.hello(peer, true);
      });
      this.link.on('down', (_peer, reason) => {
        if (this.closed) return; // our own shutdown, not an outage
        // One line per outage, not one per retry.
        this.log[reported ? 'debug' : 'warn']({ controller: `${host}:${port}`, reason }, 'controller unreachable; retrying');
        reported = true;
      });
    }
    if (o.archive !== false) {
      this.archiver = new Archiver({
        ...(o.archive?.command === undefined ? {} : { command: o.archive.command }),
        intervalMs: o.archive?.intervalMs ?? DEFAULTS.archiveIntervalMs,
        logQueueDir: this.logQueueDir,
        archiveDir: resolve(o.archive?.archiveDir ?? join(this.spoolDir, 'logs')),
      }, this.log);
    }
    for (const note of o.notes ?? []) this.log.warn({ runtime: o.runtime }, note);
    this.log.info({ endpoint: this.endpointId, listenPort: this.listenPort, runtime: o.runtime, nodes: this.runtimeDescription, config: this.supervisor.configId || null }, 'agent is live');
  }

  async close({ stopNodes }: { stopNodes: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.archiver?.close();
    await this.supervisor.close(stopNodes);
    await this.endpoint.close();
    this.lock.release();
    this.log.info({ stopNodes }, stopNodes ? 'agent stopped with its nodes' : 'agent stopped; nodes keep running');
    this.log.flush();
    this.onClosed?.();
    this.onClosed = undefined;
  }

  private registerHandlers(): void {
    const d = this.dispatcher;
    const instance = this.name;
    d.on(AgentApi.deployRequest, ([reqid, config, force], from) => {
      this.rx(from, 'deploy_request', reqid, { config: config.id, force });
      void this.supervisor.deploy(reqid, config, force).then(
        (results) => this.reply(from, AgentApi.deployResponse.make(reqid, results)),
        (err: Error) => this.reply(from, AgentApi.deployResponse.make(reqid, [failure(reqid, `deploy failed: ${err.message}`, { instance })])),
      );
    });
    d.on(AgentApi.getNodesRequest, ([reqid], from) => {
      this.rx(from, 'get_nodes_request', reqid);
      const statuses = [this.selfStatus(), ...this.controllerStatus(), ...this.supervisor.statuses()];
      this.reply(from, AgentApi.getNodesResponse.make(reqid, success(reqid, { instance, data: vector(statuses.map(encodeNodeStatus)) })));
    });
    d.on(AgentApi.nodeDispatchRequest, ([reqid, action, nodes], from) => {
      this.rx(from, 'node_dispatch_request', reqid, { action, nodes });
      void this.supervisor.dispatch(reqid, action, nodes).then((results) => this.reply(from, AgentApi.nodeDispatchResponse.make(reqid, results)));
    });
    d.on(AgentApi.restartRequest, ([reqid, nodes], from) => {
      this.rx(from, 'restart_request', reqid, { nodes });
      void this.supervisor.restart(reqid, nodes).then(
        (results) => this.reply(from, AgentApi.restartResponse.make(reqid, results)),
        (err: Error) => this.reply(from, AgentApi.restartResponse.make(reqid, [failure(reqid, `restart failed: ${err.message}`, { instance })])),
      );
    });
    d.on(AgentApi.agentWelcomeRequest, ([reqid], from) => {
      this.rx(from, 'agent_welcome_request', reqid);
      this.reply(from, AgentApi.agentWelcomeResponse.make(reqid, success(reqid, { instance })));
    });
    d.on(AgentApi.agentStandbyRequest, ([reqid], from) => {
      this.rx(from, 'agent_standby_request', reqid);
      void this.supervisor.standby().then(
        () => this.reply(from, AgentApi.agentStandbyResponse.make(reqid, success(reqid, { instance }))),
        (err: Error) => this.reply(from, AgentApi.agentStandbyResponse.make(reqid, failure(reqid, `standby failed: ${err.message}`, { instance }))),
      );
    });
    // Our own outgoing events may come back from a peer that subscribes broadly; they are not requests.
    d.ignore(
      AgentApi.deployResponse.name, AgentApi.getNodesResponse.name, AgentApi.nodeDispatchResponse.name,
      AgentApi.agentWelcomeResponse.name, AgentApi.agentStandbyResponse.name, AgentApi.restartResponse.name,
      AgentApi.notifyAgentHello.name, AgentApi.notifyChange.name, AgentApi.notifyError.name, AgentApi.notifyLog.name,
    );
  }

  private rx(from: PeerInfo, event: string, reqid: string, details: object = {}): void {
    this.controllerPeer = from.id;
    this.log.info({ peer: from.id, reqid, ...details }, `rx ${event}`);
  }

  private reply(to: PeerInfo, event: ZeekEvent): void {
    if (this.closed) return;
    this.log.info({ peer: to.id, event: event.name }, 'tx response');
    this.endpoint.publishEvent(this.topic, event, { to: to.id });
  }

  private notify(event: ZeekEvent): void {
    if (this.closed) return;
    const target = this.controllerPeer && this.endpoint.hasPeer(this.controllerPeer) ? this.controllerPeer : undefined;
    if (target) this.endpoint.publishEvent(this.topic, event, { to: target });
    else for (const peer of this.controllerPeers()) this.endpoint.publishEvent(this.topic, event, { to: peer.id });
  }

  private controllerPeers(): PeerInfo[] {
    return this.endpoint.peerList().filter((p) => topicMatches(p.subscriptions, this.topic));
  }

  private hello(peer: PeerInfo, connecting: boolean): void {
    this.log.info({ peer: peer.id, connecting }, 'tx notify_agent_hello');
    this.endpoint.publishEvent(this.topic, AgentApi.notifyAgentHello.make(this.name, this.endpointId, connecting, API_VERSION), { to: peer.id });
  }

  /** A malformed request gets a Broker error and, when its reqid is readable, its response event carrying the problem. */
  private answerInvalid(p: InvalidEvent): void {
    this.endpoint.sendError(p.from.id, ErrorCode.invalidData, p.error);
    const first = p.args?.[0];
    if (!p.event || first?.type !== 'string') return;
    const reqid = first.value;
    const fail = failure(reqid, `invalid request: ${p.error}`, { instance: this.name });
    const response = {
      [AgentApi.deployRequest.name]: () => AgentApi.deployResponse.make(reqid, [fail]),
      [AgentApi.restartRequest.name]: () => AgentApi.restartResponse.make(reqid, [fail]),
      [AgentApi.nodeDispatchRequest.name]: () => AgentApi.nodeDispatchResponse.make(reqid, [fail]),
      [AgentApi.getNodesRequest.name]: () => AgentApi.getNodesResponse.make(reqid, fail),
      [AgentApi.agentWelcomeRequest.name]: () => AgentApi.agentWelcomeResponse.make(reqid, fail),
      [AgentApi.agentStandbyRequest.name]: () => AgentApi.agentStandbyResponse.make(reqid, fail),
    }[p.event];
    if (response) this.reply(p.from, response());
  }

  private selfStatus(): NodeStatus {
    const s: NodeStatus = { node: this.name, state: 'RUNNING', mgmtRole: 'AGENT', clusterRole: 'NONE', pid: process.pid };
    if (this.listenPort !== undefined) s.port = { number: this.listenPort, protocol: 'tcp' };
    return s;
  }

  private controllerStatus(): NodeStatus[] {
    const c = this.options.colocatedController;
    if (!c) return [];
    const s: NodeStatus = { node: c.name, state: 'RUNNING', mgmtRole: 'CONTROLLER', clusterRole: 'NONE', pid: c.pid };
    if (c.port !== undefined) s.port = { number: c.port, protocol: 'tcp' };
    return [s];
  }
}
