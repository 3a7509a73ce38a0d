/**
 * The agent's node supervisor: runs the nodes of this instance for the
 * configuration it was given — deploy (stop the old nodes, start loggers,
 * manager and proxies, then workers once those checked in), restart, stop
 * and start, standby, status and dispatch — and on start takes over the
 * nodes an earlier run left behind (recovery.ts finds them). Nodes an
 * operator stopped stay stopped (agent-state.json) until started or
 * redeployed. Operations that change the set of processes run one at a time.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { buildClusterLayout, type ClusterLayout } from '../management/cluster-layout.js';
import {
  REQUEST_TIMED_OUT, backendOf, encodeNodeOutputs, failure, nodeTopic, success,
  type Configuration, type Node, type NodeStatus, type Result, type State,
} from '../management/index.js';
import type { DaemonLimits } from '../management/limits.js';
import { makePrivateDir, type Owner } from '../management/private-files.js';
import type { Logger } from '../protocol/index.js';
import type { BackoffOptions } from './backoff.js';
import { mapLimit, SerialQueue } from './limit.js';
import { NodeChannel } from './node-channel.js';
import { OutputFollower } from './output-follower.js';
import { PortPool } from './port-pool.js';
import { storedState, takeStock } from './recovery.js';
import type { NodeRuntime } from './runtimes/index.js';
import { saveAgentState } from './state-store.js';
import { saveCrash } from './crash-dirs.js';
import { CpuMeter, SAMPLE_INTERVAL_MS } from './usage.js';
import { CaptureMeter } from './capture.js';
import type { DiagSubject } from './diag.js';
import { SupervisedNode, type CheckIn, type NodeHost } from './supervised-node.js';
import { checkKey, unchangedSince } from './check-proof.js';
import { checkNode, type CheckOutcome } from './script-check.js';
import { validateConfiguration, type HostLimits } from './validate.js';
import { BundleCache, type FetchChunk } from './bundle-cache.js';
import type { Outcome } from '../protocol/index.js';
import type { EnvPolicy } from './env-policy.js';

/** How a node's start went: its check-in, or why it could not be started. */
type Start = { state: CheckIn } | { state: 'not-started'; error: string };

/** How many nodes are prepared and spawned at once. */
const SPAWN_CONCURRENCY = 8;
const STAGE_ORDER: readonly string[] = ['LOGGER', 'MANAGER', 'PROXY'];
/** The least time a script check (zeek -a) gets, whatever the node timeout. */
const CHECK_TIMEOUT_MS = 30_000;

export interface SupervisorOptions {
  name: string;
  stateDir: string;
  spoolDir: string;
  /** Where the nodes rotate their logs to, for the archiver. */
  logQueueDir: string;
  runtime: NodeRuntime;
  log: Logger;
  nodeTimeoutMs: number;
  stopGraceMs: number;
  backoff: BackoffOptions;
  taskset: string | undefined;
  /** Failed runs in a row after which a node is left FAILED (0: never). */
  startLimit: number;
  /** Crash directories kept per node. */
  keepCrashes: number;
  /** What this host allows: the CPUs nodes may be pinned to, and the agent's own listen port (no node may take it). */
  host: () => HostLimits;
  /** Fetches a chunk of a script bundle from the controller. */
  fetchBundle: FetchChunk;
  /** What nodes may send the agent (their sessions' limits). */
  limits?: DaemonLimits;
  /** Nodes run as this user; their directories are theirs. */
  nodeUser?: Owner;
  /** Mode of the nodes directory (0711 when nodes run as another user, so they reach their own). */
  dirMode?: number;
  /** Which env a configuration may set (env-policy.ts). */
  envPolicy: EnvPolicy;
}

export interface SupervisorEvents {
  change: [Node, State, State];
  error: [string, string];
  /** A line a node wrote to stdout or stderr. */
  log: [string, string];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly nodes = new Map<string, SupervisedNode>();
  private config: Configuration | undefined;
  private readonly queue = new SerialQueue();
  private readonly ports = new PortPool();
  private readonly channel: NodeChannel;
  private readonly host: NodeHost;
  private readonly nodesRoot: string;
  private readonly follower: OutputFollower;
  /** Nodes of the configuration an operator stopped. */
  private stopped = new Set<string>();
  private readonly meter = new CpuMeter();
  private readonly capture = new CaptureMeter();
  private readonly sampler: NodeJS.Timeout;
  private readonly bundles: BundleCache;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.bundles = new BundleCache(join(options.stateDir, 'bundles'));
    this.nodesRoot = join(options.stateDir, 'nodes');
    this.channel = new NodeChannel(options.name, options.log, options.nodeTimeoutMs, options.limits);
    this.follower = new OutputFollower(({ node, stream, line }) => this.emit('log', `${stream}: ${line}`, node));
    this.host = {
      instance: options.name,
      runtime: options.runtime,
      channel: this.channel,
      log: options.log,
      spoolDir: options.spoolDir,
      logQueueDir: options.logQueueDir,
      stopGraceMs: options.stopGraceMs,
      backoff: options.backoff,
      taskset: options.taskset,
      ...(options.nodeUser ? { nodeUser: options.nodeUser } : {}),
      allocatePort: () => this.ports.allocate(),
      releasePort: (p) => this.ports.release(p),
      relayTopics: () => [...this.nodes.values()].filter((n) => n.managementPath === 'cluster').map((n) => nodeTopic(n.name)),
      startLimit: options.startLimit,
      meter: this.meter,
      capture: this.capture,
      recordCrash: (sn, exit, pid, upMs) => {
        const dir = saveCrash(options.stateDir, sn.dir, { ...exit, node: sn.name, pid, uptimeMs: upMs, configId: this.configId }, options.keepCrashes);
        options.log.info({ node: sn.name, dir }, 'crash evidence kept');
      },
      installBundle: (hash, target) => this.installBundle(hash, target),
    };
    this.sampler = setInterval(() => {
      const nodes = [...this.nodes.values()];
      this.meter.sample(nodes.flatMap((n) => n.processIdentity ?? []));
      void this.capture.sample(nodes.flatMap((n) => n.captureTarget ?? []));
    }, SAMPLE_INTERVAL_MS);
    this.sampler.unref();
  }

  /** The id of the configuration this agent runs ('' when none). */
  get configId(): string {
    return this.config?.id ?? '';
  }

  /** Unpacks a script bundle, fetching it from the controller first when this agent lacks it. */
  private async installBundle(hash: string, target: string): Promise<Outcome<number>> {
    const here = await this.bundles.ensure(hash, this.options.fetchBundle);
    return here.ok ? this.bundles.install(hash, target) : here;
  }

  /** The log retention of the configuration this agent runs (days; undefined or 0: keep). */
  get logExpireDays(): number | undefined {
    return this.config?.cluster?.logExpireDays;
  }

  /** Loads the stored configuration and takes over (or cleans up) what an earlier run left (recovery.ts). */
  recover(): void {
    makePrivateDir(this.nodesRoot, { mode: this.options.dirMode ?? 0o700 });
    const stored = storedState(this.options.stateDir, this.options.name, this.options.envPolicy);
    this.config = stored.configuration;
    this.stopped = new Set(stored.stopped);
    const wanted = new Map(this.myNodes().filter((n) => !this.stopped.has(n.name)).map((n) => [n.name, n]));
    const { adopt, stopping } = takeStock(this.nodesRoot, new Set(wanted.keys()), this.options.log, this.options.stopGraceMs);
    // Whatever runs next (relaunches, a deploy) waits until these are gone, so their ports are free.
    void this.queue.run(() => Promise.all(stopping));
    if (!this.config) return;
    const layout = buildClusterLayout(this.config);
    this.reservePorts(this.config);
    for (const n of this.myNodes().filter((x) => this.stopped.has(x.name))) this.track(n, layout).markStopped();
    for (const [name, record] of adopt) {
      this.ports.claim(record.mgmtPort);
      this.track(wanted.get(name)!, layout).adopt(record);
    }
    this.launchMissing(wanted, layout);
  }

  /** Starts the nodes of the stored configuration that no process runs (they died while the agent was down). */
  private launchMissing(wanted: Map<string, Node>, layout: ClusterLayout): void {
    const missing = [...wanted.values()].filter((n) => !this.nodes.has(n.name));
    const ordered = [...missing.filter((n) => n.role !== 'WORKER'), ...missing.filter((n) => n.role === 'WORKER')];
    const tracked = ordered.map((node) => {
      this.options.log.info({ node: node.name }, 'node of the stored configuration is not running; starting it');
      return this.track(node, layout);
    });
    void this.queue.run(() => mapLimit(tracked, SPAWN_CONCURRENCY, (sn) => sn.launch().catch((err: Error) => {
      this.emit('error', `could not start node ${sn.name}: ${err.message}`, sn.name);
    })));
  }

  /** `stopped`: nodes to leave stopped (the controller's record of what an operator stopped) when this is a new configuration. */
  deploy(reqid: string, config: Configuration, force: boolean, stopped: readonly string[] = []): Promise<Result[]> {
    return this.queue.run(() => this.doDeploy(reqid, config, force, stopped));
  }

  restart(reqid: string, names: readonly string[]): Promise<Result[]> {
    return this.queue.run(() => this.doRestart(reqid, names));
  }

  /** Stops the named (all when none) nodes of this instance; they stay stopped until started, restarted by name or redeployed. */
  stop(reqid: string, names: readonly string[]): Promise<Result[]> {
    return this.queue.run(async () => {
      const { targets, results } = this.select(reqid, names);
      // The intent is stored first: an agent that dies meanwhile still knows what to leave stopped.
      this.setStopped(targets.map((n) => n.name), true);
      await Promise.all(targets.map((n) => n.stop()));
      return [...results, ...targets.map((n) => success(reqid, { instance: this.options.name, node: n.name }))];
    });
  }

  /** Starts the named (all when none) nodes of this instance that do not run: stopped, or given up after their start limit. */
  start(reqid: string, names: readonly string[]): Promise<Result[]> {
    return this.queue.run(async () => {
      const { targets, results } = this.select(reqid, names);
      this.setStopped(targets.map((n) => n.name), false);
      // Nodes with a process are left as they are; the others (stopped, failed, waiting for a restart) start now.
      const idle = targets.filter((n) => n.pid === undefined);
      const deadline = Date.now() + this.options.nodeTimeoutMs;
      const outcomes = new Map<string, Start>(targets.filter((n) => n.pid !== undefined).map((n) => [n.name, { state: 'running' }]));
      for (const n of idle) n.resetBackoff();
      for (const stage of this.stagesOf(idle)) {
        for (const [name, outcome] of await this.startStage(stage, deadline)) outcomes.set(name, outcome);
      }
      return [...results, ...this.results(reqid, targets, outcomes)];
    });
  }

  /** Stops every node and forgets the configuration. */
  standby(): Promise<void> {
    return this.queue.run(async () => {
      saveAgentState(this.options.stateDir, undefined);
      await this.stopAll();
      this.config = undefined;
      this.stopped.clear();
    });
  }

  /** Records nodes as stopped by an operator (or no longer); stored at once. */
  private setStopped(names: readonly string[], stopped: boolean): void {
    const before = this.stopped.size;
    for (const n of names) {
      if (stopped) this.stopped.add(n);
      else this.stopped.delete(n);
    }
    if (this.stopped.size !== before) saveAgentState(this.options.stateDir, this.config, [...this.stopped]);
  }

  statuses(): NodeStatus[] {
    return [...this.nodes.values()].map((n) => n.status());
  }

  /** What `diag` ships of a node of this instance; undefined when this instance does not run it. */
  diagSubject(name: string, versions: string[]): DiagSubject | undefined {
    const sn = this.nodes.get(name);
    if (!sn) return undefined;
    return { node: sn.node, configId: this.configId, status: sn.status(), nodeDir: sn.dir, stateDir: this.options.stateDir, versions };
  }

  /** Relays an action to the named (or all) RUNNING nodes of this instance; one Result per node. */
  async dispatch(reqid: string, action: readonly string[], names: readonly string[]): Promise<Result[]> {
    const { targets, results } = this.select(reqid, names);
    const answers = await Promise.all(targets.map(async (node): Promise<Result> => {
      const instance = this.options.name;
      if (node.state !== 'RUNNING') return failure(reqid, `cluster node ${node.name} not in running state`, { instance, node: node.name });
      const peer = node.managementPath === 'listener' ? node.sessionPeer() : this.relayPeer();
      if (!peer) {
        const why = node.managementPath === 'listener' ? 'its management session is down' : 'it is reached through another node of this instance, and none is running';
        return failure(reqid, `cluster node ${node.name} is not reachable: ${why}`, { instance, node: node.name });
      }
      const r = await this.channel.dispatch(peer, node.name, action, this.options.nodeTimeoutMs);
      return { ...r, reqid, instance: this.options.name, node: node.name };
    }));
    return [...results, ...answers];
  }

  async close(stopNodes: boolean): Promise<void> {
    clearInterval(this.sampler);
    this.capture.close();
    await this.queue.run(async () => {
      if (stopNodes) await this.stopAll();
      else await Promise.all([...this.nodes.values()].map((n) => n.detach()));
      this.nodes.clear();
    });
    this.follower.close();
    await this.channel.close();
  }

  private async doDeploy(reqid: string, config: Configuration, force: boolean, stopped: readonly string[]): Promise<Result[]> {
    const instance = this.options.name;
    if (this.config && this.config.id === config.id && !force) {
      this.options.log.info({ config: config.id }, 'already running this configuration');
      return [success(reqid, { instance })];
    }
    const problems = validateConfiguration(config, instance, this.options.envPolicy, this.options.host());
    if (problems.length > 0) {
      this.options.log.warn({ config: config.id, problems }, 'refusing an invalid configuration');
      return problems.map((p) => failure(reqid, `invalid configuration: ${p}`, { instance }));
    }
    const bundle = config.cluster?.bundle;
    if (bundle !== undefined && config.nodes.some((n) => n.instance === instance)) {
      const here = await this.bundles.ensure(bundle, this.options.fetchBundle);
      if (!here.ok) {
        this.options.log.warn({ config: config.id, bundle, error: here.error }, 'script bundle unavailable; the running nodes are left as they are');
        return [failure(reqid, here.error, { instance })];
      }
    }
    // The check protects running nodes from a script error; with none running, each node's own start parses the same scripts and fails as fast.
    const checked = this.nodes.size > 0 ? await this.checkScripts(reqid, config, { vouched: true }) : [];
    if (checked.some((r) => !r.success)) {
      const failed = checked.filter((r) => r.data !== undefined).map((r) => r.node).join(', ');
      this.options.log.warn({ config: config.id, failed }, 'script check failed; the running nodes are left as they are');
      return checked.map((r) => (r.success ? failure(reqid, `node ${r.node} not deployed: the script check failed for ${failed}`, { instance, node: r.node! }) : r));
    }
    // Stored first: a write that fails (a full disk) fails the deploy with everything still running.
    const keepStopped = stopped.filter((n) => config.nodes.some((m) => m.name === n && m.instance === instance));
    saveAgentState(this.options.stateDir, config, keepStopped);
    await this.stopAll();
    this.config = config;
    this.stopped = new Set(keepStopped);
    this.bundles.keepOnly(bundle === undefined ? [] : [bundle]);
    this.reservePorts(config);
    const mine = this.myNodes();
    if (mine.length === 0) return [success(reqid, { instance })];
    const layout = buildClusterLayout(config);
    const left = mine.filter((n) => this.stopped.has(n.name)).map((n) => this.track(n, layout).markStopped());
    if (left.length > 0) this.options.log.info({ nodes: left.map((n) => n.name) }, 'nodes an operator stopped stay stopped');
    const tracked = mine.filter((n) => !this.stopped.has(n.name)).map((n) => this.track(n, layout));
    const deadline = Date.now() + this.options.nodeTimeoutMs;
    const outcomes = new Map<string, Start>();
    for (const stage of this.stagesOf(tracked)) {
      for (const [name, outcome] of await this.startStage(stage, deadline)) outcomes.set(name, outcome);
    }
    return [...this.results(reqid, tracked, outcomes), ...left.map((n) => success(reqid, { instance, node: n.name }))];
  }

  /**
   * Spawned in zeekctl's order (loggers, manager, proxies, workers). With Broker, workers wait until the others
   * checked in, so that they can peer; ZeroMQ nodes connect to the manager's proxy whenever it comes up.
   */
  private stagesOf(nodes: readonly SupervisedNode[]): SupervisedNode[][] {
    const first = nodes.filter((n) => n.node.role !== 'WORKER').sort((a, b) => STAGE_ORDER.indexOf(a.node.role) - STAGE_ORDER.indexOf(b.node.role));
    const workers = nodes.filter((n) => n.node.role === 'WORKER');
    return this.config && backendOf(this.config) === 'broker' ? [first, workers] : [[...first, ...workers]];
  }

  /**
   * Parses the scripts of every node of this instance in `config` without
   * starting anything (zeekctl's check): one Result per node, failures with
   * the parser's output.
   */
  async checkScripts(reqid: string, config: Configuration, { vouched }: { vouched: boolean }): Promise<Result[]> {
    const instance = this.options.name;
    const problems = validateConfiguration(config, instance, this.options.envPolicy, this.options.host());
    if (problems.length > 0) return problems.map((p) => failure(reqid, `invalid configuration: ${p}`, { instance }));
    const mine = config.nodes.filter((n) => n.instance === instance);
    const ctx = {
      runtime: this.options.runtime,
      layout: buildClusterLayout(config),
      checkRoot: join(this.options.stateDir, 'check'),
      ...(this.options.nodeUser ? { nodeUser: this.options.nodeUser } : {}),
      dirMode: this.options.dirMode ?? 0o700,
      spoolDir: this.options.spoolDir,
      logQueueDir: this.options.logQueueDir,
      timeoutMs: Math.max(CHECK_TIMEOUT_MS, this.options.nodeTimeoutMs),
      installBundle: (hash: string, target: string) => this.installBundle(hash, target),
    };
    // Nodes that differ only by name parse alike: one check per kind (a worker fleet costs one zeek -a).
    const groups = new Map<string, Node[]>();
    for (const n of mine) {
      const key = checkKey(n, ctx.layout);
      groups.set(key, [...(groups.get(key) ?? []), n]);
    }
    // A group whose kind of node is RUNNING on unchanged scripts has passed this parse already.
    const representatives = [...groups.values()].map((g) => g[0]!);
    const verdicts = await mapLimit(representatives, availableParallelism(), async (n): Promise<CheckOutcome> => {
      const proof = vouched ? this.vouchingNode(n, ctx.layout) : undefined;
      if (proof) {
        this.options.log.info({ node: n.name, vouchedBy: proof }, 'script check skipped: a running node of this kind parsed the same unchanged scripts');
        return { ok: true };
      }
      return checkNode(ctx, n);
    });
    const outcomeOf = new Map<string, CheckOutcome>();
    [...groups.values()].forEach((g, i) => { for (const n of g) outcomeOf.set(n.name, verdicts[i]!); });
    return mine.map((n) => {
      const o = outcomeOf.get(n.name)!;
      return o.ok
        ? success(reqid, { instance, node: n.name })
        : failure(reqid, `node ${n.name} failed the script check: ${o.error}`, { instance, node: n.name, data: encodeNodeOutputs(o.outputs) });
    });
  }

  private async doRestart(reqid: string, names: readonly string[]): Promise<Result[]> {
    const selected = this.select(reqid, names);
    // Restarting everything leaves what an operator stopped alone; a stopped node restarted by name runs again.
    const targets = names.length === 0 ? selected.targets.filter((n) => !this.stopped.has(n.name)) : selected.targets;
    const { results } = selected;
    this.setStopped(targets.map((n) => n.name), false);
    const deadline = Date.now() + this.options.stopGraceMs + this.options.nodeTimeoutMs;
    const outcomes = new Map<string, Start>();
    await mapLimit(targets, SPAWN_CONCURRENCY, async (node) => {
      try {
        await node.restart();
        outcomes.set(node.name, { state: await node.waitForCheckIn(deadline) });
      } catch (err) {
        outcomes.set(node.name, { state: 'not-started', error: `could not restart node ${node.name}: ${(err as Error).message}` });
      }
    });
    return [...results, ...this.results(reqid, targets, outcomes)];
  }

  /** Launches a stage's nodes and waits until each checked in, exited, or the deadline passed. */
  private async startStage(stage: SupervisedNode[], deadline: number): Promise<Map<string, Start>> {
    const outcomes = new Map<string, Start>();
    await mapLimit(stage, SPAWN_CONCURRENCY, async (node) => {
      try {
        await node.launch();
      } catch (err) {
        outcomes.set(node.name, { state: 'not-started', error: `could not start node ${node.name}: ${(err as Error).message}` });
      }
    });
    await Promise.all(stage.filter((n) => !outcomes.has(n.name)).map(async (n) => outcomes.set(n.name, { state: await n.waitForCheckIn(deadline) })));
    return outcomes;
  }

  private results(reqid: string, nodes: SupervisedNode[], outcomes: Map<string, Start>): Result[] {
    const instance = this.options.name;
    const out: Result[] = [];
    let timedOut = false;
    for (const node of nodes) {
      const outcome = outcomes.get(node.name) ?? { state: 'timeout' };
      const extra = { instance, node: node.name };
      if (outcome.state === 'running') {
        out.push(success(reqid, extra));
        continue;
      }
      const data = encodeNodeOutputs(node.outputs());
      timedOut ||= outcome.state === 'timeout';
      out.push(failure(reqid, this.startFailure(node, outcome), { ...extra, data }));
    }
    if (timedOut) out.push(failure(reqid, REQUEST_TIMED_OUT, { instance }));
    return out;
  }

  private startFailure(node: SupervisedNode, outcome: Start): string {
    switch (outcome.state) {
      case 'timeout': return `node ${node.name} did not check in within ${this.options.nodeTimeoutMs} ms`;
      case 'exited': return `node ${node.name} ${node.lastExit?.description ?? 'exited'} before checking in`;
      case 'not-started': return outcome.error;
      default: return `node ${node.name} is ${outcome.state}`;
    }
  }

  /** Nodes of this instance named in `names` (all when empty); unknown names get failures. */
  private select(reqid: string, names: readonly string[]): { targets: SupervisedNode[]; results: Result[] } {
    if (names.length === 0) return { targets: [...this.nodes.values()], results: [] };
    const inConfig = new Set(this.config?.nodes.map((n) => n.name) ?? []);
    const targets: SupervisedNode[] = [];
    const results: Result[] = [];
    for (const name of new Set(names)) {
      const node = this.nodes.get(name);
      if (node) targets.push(node);
      else if (!inConfig.has(name)) results.push(failure(reqid, `unknown cluster node ${name}`, { instance: this.options.name, node: name }));
    }
    return { targets, results };
  }

  /** A RUNNING node of the same kind as `node` whose loaded scripts are unchanged since it started, by name. */
  private vouchingNode(node: Node, layout: ClusterLayout): string | undefined {
    const list = this.options.runtime.loadedScripts;
    if (list === undefined) return undefined;
    const key = checkKey(node, layout);
    for (const sn of this.nodes.values()) {
      const since = sn.startedAt;
      if (sn.state !== 'RUNNING' || since === undefined || checkKey(sn.node, sn.clusterLayout) !== key) continue;
      if (unchangedSince(join(sn.dir, list), sn.dir, since)) return sn.name;
    }
    return undefined;
  }

  /** A RUNNING node's session through which `cluster`-path nodes are reached (the manager's when it has one). */
  private relayPeer(): string | undefined {
    const candidates = [...this.nodes.values()].filter((n) => n.managementPath === 'listener' && n.sessionPeer() !== undefined);
    candidates.sort((a, b) => Number(b.node.role === 'MANAGER') - Number(a.node.role === 'MANAGER'));
    return candidates[0]?.sessionPeer();
  }

  private myNodes(): Node[] {
    return this.config?.nodes.filter((n) => n.instance === this.options.name) ?? [];
  }

  private reservePorts(config: Configuration): void {
    const ports: number[] = [];
    for (const n of config.nodes) {
      if (n.port) ports.push(n.port.number);
      if (n.metricsPort) ports.push(n.metricsPort.number);
    }
    for (const p of [config.cluster?.xpubPort, config.cluster?.xsubPort]) if (p) ports.push(p.number);
    this.ports.reserve(ports);
  }

  private track(node: Node, layout: ClusterLayout): SupervisedNode {
    const sn = new SupervisedNode(this.host, node, layout, join(this.nodesRoot, node.name));
    sn.on('process', (n, how) => {
      if (how === 'launched') this.follower.followFromStart(n.name, n.dir);
      else this.follower.follow(n.name, n.dir);
    });
    sn.on('change', (n, old, next) => {
      if (next === 'CRASHED' || next === 'FAILED') this.follower.poll();
      this.options.log.info({ node: n.name, from: old, to: next, pid: n.pid }, 'node state changed');
      this.emit('change', { ...n.node, state: next }, old, next);
    });
    sn.on('error', (n, message) => {
      this.options.log.error({ node: n.name }, message);
      this.emit('error', message, n.name);
    });
    this.nodes.set(node.name, sn);
    return sn;
  }

  private async stopAll(): Promise<void> {
    const nodes = [...this.nodes.values()];
    await Promise.all(nodes.map((n) => n.stop()));
    this.follower.poll();
    for (const n of nodes) {
      n.removeAllListeners();
      this.follower.unfollow(n.name);
      this.nodes.delete(n.name);
    }
  }
}
