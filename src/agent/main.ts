/**
 * The agent: one per instance. It listens for controllers and/or dials its
 * controller, says hello on every new controller session, and answers the
 * Agent API by driving the supervisor, which runs this instance's cluster
 * nodes. Node state changes and errors go to the controller as
 * notifications. Closing it either stops the nodes or leaves them running
 * for the next agent run to adopt.
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  API_VERSION, AgentApi, EventDispatcher, TOPIC_AGENT_PREFIX, agentTopic, encodeDiskUse, encodeNodeStatus, failure, onlyRole, success,
  type NodeStatus, type RequestKind, type Result,
} from '../management/index.js';
import { DEFAULT_DAEMON_LIMITS } from '../management/limits.js';
import { TlsMaterial } from '../management/tls-material.js';
import { agentSide } from '../management/agent-key.js';
import { createLogger, type ManagementLogger } from '../management/log.js';
import { makePrivateDir } from '../management/private-files.js';
import { Endpoint, ErrorCode, str, table, vector, type Admission, type Credentials, type Link, type Outcome, type PeerInfo, type ZeekEvent } from '../protocol/index.js';
import { collectDiag } from './diag.js';
import { packageVersion } from '../management/version.js';
import { Archiver } from './archiver.js';
import { diskUse, type Area } from './disk-use.js';
import { AGENT_DEFAULTS, type AgentOptions } from './config.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { hostCpus } from './host-cpus.js';
import { createRuntime, findExecutable } from './runtimes/index.js';
import { StateLock } from '../management/state-lock.js';
import { Supervisor } from './supervisor.js';

export interface Agent {
  readonly name: string;
  readonly endpointId: string;
  /** The bound listen port, when listening. */
  readonly listenPort: number | undefined;
  readonly stateDir: string;
  /** SIGHUP: reads the TLS material again; sessions and nodes stay up. Returns the problems (the old material stays). */
  reload(): Promise<string[]>;
  close(options: { stopNodes: boolean }): Promise<void>;
}

/** How long the controller has to answer one fetch_bundle_request. */
const FETCH_TIMEOUT_MS = 30_000;

/** A fetch_bundle Result as a chunk, or why it is not one. */
function chunkOf(r: Result | undefined): Outcome<{ total: number; bytes: Buffer }> {
  if (!r) return { ok: false, error: 'no answer from the controller' };
  if (!r.success) return { ok: false, error: r.error ?? 'the controller refused' };
  const [total, data] = r.data?.type === 'vector' ? r.data.value : [];
  if ((total?.type !== 'count' && total?.type !== 'integer') || data?.type !== 'string') return { ok: false, error: 'the controller answered with something other than a chunk' };
  return { ok: true, value: { total: Number(total.value), bytes: Buffer.from(data.value, 'base64') } };
}

/**
 * The agent's directories: private (0700), or traversable (0711, no
 * listing) where nodes running as another user must pass through them to
 * their own directories and the log queue.
 */
export function stateDirMode(options: AgentOptions): number {
  return options.nodeUser ? 0o711 : 0o700;
}
/** What an agent obeys: the session that proved this agent's key, i.e. its controller. */
const CONTROLLER = 'controller';

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const stateDir = resolve(options.stateDir);
  makePrivateDir(stateDir, { followLink: true, mode: stateDirMode(options) });
  const limits = options.limits ?? DEFAULT_DAEMON_LIMITS;
  const log = options.logger ?? createLogger({
    name: options.name, role: 'agent', stateDir, maxBytes: limits.logMaxBytes, keep: limits.logKeep,
    ...(options.logLevel ? { level: options.logLevel } : {}), ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  const locked = StateLock.acquire(stateDir, 'agent');
  if (!locked.ok) throw new Error(locked.error);
  const lock = locked.value;
  let agent: AgentRuntime | undefined;
  try {
    let tls: TlsMaterial | undefined;
    if (options.security.tls) {
      const loaded = await TlsMaterial.load(options.security.tls);
      if (!loaded.ok) throw new Error(loaded.error);
      tls = loaded.value;
      for (const note of tls.notes) log.warn({}, note);
    }
    agent = new AgentRuntime(options, stateDir, log, lock, tls);
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
  private readonly archiveDir: string;
  private readonly runtimeDescription: string;
  /** Requests this agent made of its controller (fetch_bundle), by reqid. */
  private readonly asked = new Map<string, { done: (r: Result | undefined) => void; timer: NodeJS.Timeout }>();

  constructor(
    private readonly options: AgentOptions, readonly stateDir: string, private readonly log: ManagementLogger, private readonly lock: StateLock,
    private readonly tls: TlsMaterial | undefined,
  ) {
    this.name = options.name;
    this.topic = agentTopic(options.name);
    const limits = options.limits ?? DEFAULT_DAEMON_LIMITS;
    this.endpoint = new Endpoint({ logger: log, limits: limits.wire });
    this.endpointId = this.endpoint.id;
    this.spoolDir = resolve(options.spoolDir ?? join(stateDir, 'spool'));
    makePrivateDir(this.spoolDir, { followLink: true, mode: stateDirMode(options) });
    this.logQueueDir = resolve(options.logQueueDir ?? join(this.spoolDir, 'log-queue'));
    this.archiveDir = resolve((options.archive === false ? undefined : options.archive?.archiveDir) ?? join(this.spoolDir, 'logs'));
    // Nodes rotate their logs into the queue: with --node-user it is theirs.
    makePrivateDir(this.logQueueDir, { followLink: true, ...(options.nodeUser ? { owner: options.nodeUser } : {}) });
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
      startLimit: options.startLimit ?? AGENT_DEFAULTS.startLimit,
      keepCrashes: options.keepCrashes ?? AGENT_DEFAULTS.keepCrashes,
      host: () => ({ cpus: hostCpus(), ownPorts: this.listenPort === undefined ? [] : [this.listenPort] }),
      fetchBundle: (hash, offset) => this.fetchBundle(hash, offset),
      limits,
      ...(options.nodeUser ? { nodeUser: options.nodeUser } : {}),
      dirMode: stateDirMode(options),
      envPolicy: { allowLoaderEnv: options.security.allowLoaderEnv },
    });
    // A malformed request gets a Broker error and, when its reqid is readable, its response carrying the problem.
    this.dispatcher = new EventDispatcher([AgentApi], (p) => {
      log.warn({ peer: p.from.id, role: p.from.principal, topic: p.topic, event: p.event, error: p.error }, p.denied ? 'refused a request' : 'invalid event');
      this.endpoint.sendError(p.from.id, ErrorCode.invalidData, p.error);
      if (p.request) this.reply(p.from, p.request.spec.fail(p.request.reqid, p.denied ? p.error : `invalid request: ${p.error}`, { instance: this.name }));
    }, onlyRole(CONTROLLER), { maxReqidLength: limits.maxReqidLength });
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
      if (peer.direction === 'inbound' && peer.principal === CONTROLLER) this.hello(peer, false);
    });
    if (o.security.insecure) this.log.warn({ tls: this.tls !== undefined }, 'running with --insecure: links to the controller may be plaintext off this host');
    const serverTls = this.tls ? { tls: this.tls.server } : {};
    const clientTls = this.tls ? { tls: this.tls.client } : {};
    const shared = agentSide(this.name, o.security.key);
    this.endpoint.on('peer-down', (peer) => {
      if (peer.id === this.controllerPeer) this.controllerPeer = undefined;
    });
    if (o.listen !== false) {
      // Controllers speak on agent topics only: a client that mistook this port for the controller's is told so at once.
      const bound = await this.endpoint.listen({
        host: o.listenHost ?? AGENT_DEFAULTS.listenHost, port: o.listenPort ?? AGENT_DEFAULTS.listenPort, name: 'controllers', publishTopics: [TOPIC_AGENT_PREFIX],
        keyFor: (id) => (id === this.name ? shared : undefined), admit: (c) => this.admit(c), ...serverTls,
      });
      this.listenPort = bound.port;
    }
    if (o.connect !== false) {
      const host = o.controllerHost ?? AGENT_DEFAULTS.controllerHost;
      const port = o.controllerPort ?? AGENT_DEFAULTS.controllerPort;
      this.link = this.endpoint.connect({
        host, port, subscriptions: [this.topic], remoteTopics: [this.topic], retry: { initialMs: 250, maxMs: 5000 },
        proof: shared, principal: CONTROLLER, ...clientTls,
      });
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
        archiveDir: this.archiveDir,
        expireDays: () => this.supervisor.logExpireDays,
      }, this.log);
    }
    for (const note of o.notes ?? []) this.log.warn({ runtime: o.runtime }, note);
    if (o.nodeUser) this.log.info({ user: o.nodeUser.name, uid: o.nodeUser.uid, gid: o.nodeUser.gid }, `nodes run as user ${o.nodeUser.name}`);
    else if (process.getuid?.() === 0) {
      this.log.warn({ uid: 0 }, 'nodes will run as root, like this agent: pass --node-user USER to run them as an unprivileged user');
    }
    this.log.info({ endpoint: this.endpointId, listenPort: this.listenPort, runtime: o.runtime, nodes: this.runtimeDescription, config: this.supervisor.configId || null }, 'agent is live');
  }

  async reload(): Promise<string[]> {
    if (!this.tls) return [];
    const r = await this.tls.reload();
    if (!r.ok) {
      this.log.error({}, `reload: ${r.error}; keeping the TLS material in use`);
      return [r.error];
    }
    this.endpoint.reloadTls();
    for (const note of this.tls.notes) this.log.warn({}, note);
    this.log.info({}, 'reloaded TLS material');
    return [];
  }

  /** Only a session that proved this agent's key: its controller, on its topic alone. */
  private admit(c: Credentials): Admission {
    if (c.keyId !== this.name) {
      return { ok: false, error: `this is agent ${this.name}'s port: it obeys only its controller, which proves the key of ${this.name}; clients connect to the controller's client port (default 2149)` };
    }
    return { ok: true, principal: CONTROLLER, mayPublish: [this.topic], maySubscribe: [this.topic] };
  }

  async close({ stopNodes }: { stopNodes: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { done } of [...this.asked.values()]) done(undefined);
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
      .serve(api.deploy, (reqid, [config, force, stopped], from) => {
        this.rx(from, api.deploy, reqid, { config: config.id, force, stopped });
        this.answer(from, api.deploy, reqid, 'deploy failed', this.supervisor.deploy(reqid, config, force, stopped));
      })
      .serve(api.check, (reqid, [config], from) => {
        this.rx(from, api.check, reqid, { config: config.id });
        this.answer(from, api.check, reqid, 'check failed', this.supervisor.checkScripts(reqid, config, { vouched: false }));
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
      .serve(api.df, (reqid, _args, from) => {
        this.rx(from, api.df, reqid);
        this.answer(from, api.df, reqid, 'df failed', diskUse(this.diskAreas()).then((areas) => [success(reqid, { instance, data: encodeDiskUse(areas) })]));
      })
      .serve(api.restart, (reqid, [nodes], from) => {
        this.rx(from, api.restart, reqid, { nodes });
        this.answer(from, api.restart, reqid, 'restart failed', this.supervisor.restart(reqid, nodes));
      })
      .serve(api.stop, (reqid, [nodes], from) => {
        this.rx(from, api.stop, reqid, { nodes });
        this.answer(from, api.stop, reqid, 'stop failed', this.supervisor.stop(reqid, nodes));
      })
      .serve(api.start, (reqid, [nodes], from) => {
        this.rx(from, api.start, reqid, { nodes });
        this.answer(from, api.start, reqid, 'start failed', this.supervisor.start(reqid, nodes));
      })
      .serve(api.diag, (reqid, [node], from) => {
        this.rx(from, api.diag, reqid, { node });
        this.reply(from, api.diag.respond(reqid, [this.diag(reqid, node)]));
      })
      .answers(api.fetchBundle, (reqid, results) => this.asked.get(reqid)?.done(results.at(-1)))
      .serve(api.agentWelcome, (reqid, _args, from) => {
        this.rx(from, api.agentWelcome, reqid);
        this.reply(from, api.agentWelcome.respond(reqid, [success(reqid, { instance })]));
      })
      .serve(api.agentStandby, (reqid, _args, from) => {
        this.rx(from, api.agentStandby, reqid);
        this.answer(from, api.agentStandby, reqid, 'standby failed', this.supervisor.standby().then(() => [success(reqid, { instance })]));
      });
  }

  /**
   * A chunk of a script bundle, from the controller that sent the latest
   * request (the deploy that needs it), or any controller session.
   */
  private fetchBundle(hash: string, offset: number): Promise<Outcome<{ total: number; bytes: Buffer }>> {
    const peer = this.controllerPeer && this.endpoint.hasPeer(this.controllerPeer) ? this.controllerPeer : this.controllerPeers()[0]?.id;
    if (peer === undefined || this.closed) return Promise.resolve({ ok: false, error: 'no controller connected' });
    const reqid = randomUUID();
    return new Promise((resolve) => {
      const done = (r: Result | undefined): void => {
        const entry = this.asked.get(reqid);
        if (!entry) return;
        clearTimeout(entry.timer);
        this.asked.delete(reqid);
        resolve(chunkOf(r));
      };
      const timer = setTimeout(() => done(undefined), FETCH_TIMEOUT_MS);
      this.asked.set(reqid, { done, timer });
      this.log.info({ peer, reqid, hash, offset }, 'tx fetch_bundle_request');
      this.endpoint.publishEvent(this.topic, AgentApi.fetchBundle.request.make(reqid, hash, offset), { to: peer });
    });
  }

  /** What df reports: the state directory, the spool, the archived logs (and the log queue when it is outside the spool). */
  private diskAreas(): Area[] {
    const areas: Area[] = [{ name: 'state', path: this.stateDir }, { name: 'spool', path: this.spoolDir }, { name: 'logs', path: this.archiveDir }];
    if (!this.logQueueDir.startsWith(join(this.spoolDir, '/'))) areas.push({ name: 'log-queue', path: this.logQueueDir });
    return areas;
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
    return this.endpoint.peerList().filter((p) => p.principal === CONTROLLER);
  }

  private hello(peer: PeerInfo, connecting: boolean): void {
    this.log.info({ peer: peer.id, connecting }, 'tx notify_agent_hello');
    this.endpoint.publishEvent(this.topic, AgentApi.notifyAgentHello.make(this.name, this.endpointId, connecting, API_VERSION), { to: peer.id });
  }

  /** A node's diagnostics on this host: one Result whose data is a table of file name → text. */
  private diag(reqid: string, node: string): Result {
    const versions = [`zeek-mgmt ${packageVersion()}`, `runtime ${this.options.runtime}: ${this.runtimeDescription}`];
    const subject = this.supervisor.diagSubject(node, versions);
    if (!subject) return failure(reqid, `cluster node ${node} does not run on instance ${this.name}`, { instance: this.name, node });
    try {
      const files = collectDiag(subject);
      return success(reqid, { instance: this.name, node, data: table([...files].map(([name, text]) => [str(name), str(text)] as const)) });
    } catch (err) {
      return failure(reqid, `could not collect the diagnostics of ${node}: ${(err as Error).message}`, { instance: this.name, node });
    }
  }

  private selfStatus(): NodeStatus {
    const s: NodeStatus = {
      node: this.name, state: 'RUNNING', mgmtRole: 'AGENT', clusterRole: 'NONE', pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000), rssBytes: process.memoryUsage.rss(),
    };
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
