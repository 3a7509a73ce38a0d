/**
 * The agent: one per instance. It listens for controllers and/or dials its
 * controller, says hello on every new controller session, and answers the
 * Agent API by driving the supervisor, which runs this instance's cluster
 * nodes. Node state changes and errors go to the controller as
 * notifications. Closing it either stops the nodes or leaves them running
 * for the next agent run to adopt.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import {
  API_VERSION, AgentApi, EventDispatcher, TOPIC_AGENT_PREFIX, agentTopic, encodeNodeStatus, success,
  type NodeStatus, type RequestKind, type Result,
} from '../management/index.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { Endpoint, ErrorCode, topicMatches, vector, type Link, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import { Archiver } from './archiver.js';
import { AGENT_DEFAULTS, type AgentOptions } from './config.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { createRuntime, findExecutable } from './runtimes/index.js';
import { StateLock } from '../management/state-lock.js';
import { Supervisor } from './supervisor.js';

export interface Agent {
  readonly name: string;
  readonly endpointId: string;
  /** The bound listen port, when listening. */
  readonly listenPort: number | undefined;
  readonly stateDir: string;
  close(options: { stopNodes: boolean }): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const log = options.logger ?? createLogger({ name: options.name, role: 'agent', stateDir, ...(options.logLevel ? { level: options.logLevel } : {}), ...(options.logFormat ? { format: options.logFormat } : {}) });
  const locked = StateLock.acquire(stateDir, 'agent');
  if (!locked.ok) throw new Error(locked.error);
  const lock = locked.value;
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
      nodeTimeoutMs: options.nodeTimeoutMs ?? AGENT_DEFAULTS.nodeTimeoutMs,
      stopGraceMs: options.stopGraceMs ?? AGENT_DEFAULTS.stopGraceMs,
      backoff: {
        ...DEFAULT_BACKOFF,
        ...(options.initialRestartBackoffMs === undefined ? {} : { initialMs: options.initialRestartBackoffMs }),
        maxMs: options.maxRestartBackoffMs ?? AGENT_DEFAULTS.maxRestartBackoffMs,
        ...(options.restartBackoffResetMs === undefined ? {} : { resetAfterMs: options.restartBackoffResetMs }),
      },
      taskset: findExecutable('taskset'),
      host: () => ({ cpus: cpus().length, ownPorts: this.listenPort === undefined ? [] : [this.listenPort] }),
    });
    // A malformed request gets a Broker error and, when its reqid is readable, its response carrying the problem.
    this.dispatcher = new EventDispatcher([AgentApi], (p) => {
      log.warn({ peer: p.from.id, topic: p.topic, event: p.event, error: p.error }, 'invalid event');
      this.endpoint.sendError(p.from.id, ErrorCode.invalidData, p.error);
      if (p.request) this.reply(p.from, p.request.spec.fail(p.request.reqid, `invalid request: ${p.error}`, { instance: this.name }));
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
      // Controllers speak on agent topics only: a client that mistook this port for the controller's is told so at once.
      const bound = await this.endpoint.listen({
        host: o.listenHost ?? AGENT_DEFAULTS.listenHost, port: o.listenPort ?? AGENT_DEFAULTS.listenPort, name: 'controllers', publishTopics: [TOPIC_AGENT_PREFIX],
      });
      this.listenPort = bound.port;
    }
    if (o.connect !== false) {
      const host = o.controllerHost ?? AGENT_DEFAULTS.controllerHost;
      const port = o.controllerPort ?? AGENT_DEFAULTS.controllerPort;
      this.link = this.endpoint.connect({ host, port, subscriptions: [this.topic], remoteTopics: [this.topic], retry: { initialMs: 250, maxMs: 5000 } });
      let reported = '';
      let refusal = '';
      this.endpoint.on('peer-error', (peer, e) => {
        if (peer.id === this.link?.connected?.id) refusal = e.context;
        else this.log.warn({ peer: peer.id, code: e.code, context: e.context }, 'peer reported an error');
      });
      this.link.on('up', (peer) => {
        refusal = '';
        this.log.info({ controller: `${host}:${port}`, peer: peer.id }, 'connected to controller');
        this.hello(peer, true);
      });
      this.link.on('down', (lost, reason) => {
        if (this.closed) return; // our own shutdown, not an outage
        // One line per outage (or per reason the controller gives for refusing us), not one per retry.
        if (lost && !refusal) reported = '';
        const says = refusal ? `the controller refused this agent: ${refusal}; retrying` : 'controller unreachable; retrying';
        this.log[reported === says ? 'debug' : 'warn']({ controller: `${host}:${port}`, reason }, says);
        reported = says;
      });
    }
    if (o.archive !== false) {
      this.archiver = new Archiver({
        ...(o.archive?.command === undefined ? {} : { command: o.archive.command }),
        intervalMs: o.archive?.intervalMs ?? AGENT_DEFAULTS.archiveIntervalMs,
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
    const api = AgentApi;
    const instance = this.name;
    this.dispatcher
      .serve(api.deploy, (reqid, [config, force], from) => {
        this.rx(from, api.deploy, reqid, { config: config.id, force });
        this.answer(from, api.deploy, reqid, 'deploy failed', this.supervisor.deploy(reqid, config, force));
      })
      .serve(api.getNodes, (reqid, _args, from) => {
        this.rx(from, api.getNodes, reqid);
        const statuses = [this.selfStatus(), ...this.controllerStatus(), ...this.supervisor.statuses()];
        this.reply(from, api.getNodes.respond(reqid, [success(reqid, { instance, data: vector(statuses.map(encodeNodeStatus)) })]));
      })
      .serve(api.nodeDispatch, (reqid, [action, nodes], from) => {
        this.rx(from, api.nodeDispatch, reqid, { action, nodes });
        this.answer(from, api.nodeDispatch, reqid, 'dispatch failed', this.supervisor.dispatch(reqid, action, nodes));
      })
      .serve(api.restart, (reqid, [nodes], from) => {
        this.rx(from, api.restart, reqid, { nodes });
        this.answer(from, api.restart, reqid, 'restart failed', this.supervisor.restart(reqid, nodes));
      })
      .serve(api.agentWelcome, (reqid, _args, from) => {
        this.rx(from, api.agentWelcome, reqid);
        this.reply(from, api.agentWelcome.respond(reqid, [success(reqid, { instance })]));
      })
      .serve(api.agentStandby, (reqid, _args, from) => {
        this.rx(from, api.agentStandby, reqid);
        this.answer(from, api.agentStandby, reqid, 'standby failed', this.supervisor.standby().then(() => [success(reqid, { instance })]));
      });
  }

  private rx(from: PeerInfo, spec: RequestKind, reqid: string, details: object = {}): void {
    this.controllerPeer = from.id;
    this.log.info({ peer: from.id, reqid, ...details }, `rx ${spec.kind}_request`);
  }

  /** Responds with the Results of `work`, or with one failure (`failing: <why>`) if it fails. */
  private answer(to: PeerInfo, spec: RequestKind, reqid: string, failing: string, work: Promise<Result[]>): void {
    void work.then(
      (results) => this.reply(to, spec.respond(reqid, results)),
      (err: Error) => this.reply(to, spec.fail(reqid, `${failing}: ${err.message}`, { instance: this.name })),
    );
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
