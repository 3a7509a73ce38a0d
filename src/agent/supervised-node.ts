/**
 * One cluster node under the agent's care: launches its process (launch.ts:
 * detached, own process group, output to files, a per-launch token in its
 * env, a pid file), follows it from PENDING to RUNNING when it checks in,
 * removes its pid file when it is gone, and restarts it with back-off when
 * it dies unexpectedly — until it failed `startLimit` times in a row, when
 * it stays FAILED. A node adopted after an agent restart is watched through
 * /proc instead of as a child. How its last process ended is kept in
 * `last-exit.json`, its automatic restarts in the pid file.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { backendPortsOf, type ClusterLayout } from '../management/cluster-layout.js';
import type { ExitRecord, Node, NodeOutputs, NodeStatus, State } from '../management/index.js';
import { BUNDLE_DIR } from '../management/bundle.js';
import { makePrivateDir, writePrivateFile, type Owner } from '../management/private-files.js';
import { readTail } from '../management/file-tail.js';
import type { Logger, Outcome } from '../protocol/index.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { NodeChannel, NodeSession } from './node-channel.js';
import { forgetFirstFailure, keepFirstFailure, readOutputs, rotateOutputs, tailFile, watchStdout } from './outputs.js';
import { commandLine, launchEnvironment, recordLaunch, spawnNode, writeNodeFiles } from './launch.js';
import { removePidFile, type PidRecord } from './pid-file.js';
import { isRunning, terminate, type ProcessIdentity } from './process-identity.js';
import { READY_LINE, type ManagementPath, type NodeRuntime } from './runtimes/index.js';
import type { CpuMeter } from './usage.js';
import type { CaptureMeter, CaptureTarget } from './capture.js';

/** What every supervised node shares: set up once by the supervisor. */
export interface NodeHost {
  readonly instance: string;
  readonly runtime: NodeRuntime;
  readonly channel: NodeChannel;
  readonly log: Logger;
  readonly spoolDir: string;
  readonly logQueueDir: string;
  readonly stopGraceMs: number;
  readonly backoff: BackoffOptions;
  /** Path of `taskset`, when CPU affinity can be applied. */
  readonly taskset: string | undefined;
  /** Nodes run as this user (`--node-user`): their directory and files are theirs. */
  readonly nodeUser?: Owner;
  allocatePort(): Promise<number>;
  releasePort(port: number): void;
  /** Topics of this instance's `cluster`-path nodes: every node session also carries them, so those nodes are reachable through it. */
  relayTopics(): string[];
  /** Failed runs in a row after which a node is left FAILED (0: restart forever). */
  readonly startLimit: number;
  readonly meter: CpuMeter;
  /** A worker's packets received and dropped, from its metrics (capture.ts). */
  readonly capture: CaptureMeter;
  /** Keeps the evidence of an unexpected exit (crash-dirs.ts). */
  recordCrash(node: SupervisedNode, exit: ExitRecord, pid: number, upMs: number): void;
  /** Unpacks a script bundle into `target` (fetching it first when the agent lacks it); the count of files, or why not. */
  installBundle(hash: string, target: string): Promise<Outcome<number>>;
}

export type CheckIn = 'running' | 'exited' | 'timeout';

interface Running {
  id: ProcessIdentity;
  mgmtPort: number;
  startedAt: number;
  generation: number;
  child?: ChildProcess;
  /** Settles when the child exits (children only: adopted processes are polled). */
  exited?: Promise<void>;
  /** The agent's session with the node (none for a `cluster`-path node). */
  session: NodeSession | undefined;
  /** Stops watching stdout for the node's "listening" hint or ready line (until it checked in). */
  unwatchStdout: () => void;
  watch?: NodeJS.Timeout;
}

export interface ExitInfo {
  description: string;
  outputs: NodeOutputs;
  generation: number;
}

/** How a process ended, as far as known. */
export interface ExitHow {
  description: string;
  code?: number;
  signal?: string;
}

export interface SupervisedNodeEvents {
  change: [SupervisedNode, State, State];
  error: [SupervisedNode, string];
  /** A process was launched (fresh output files) or adopted (files already written). */
  process: [SupervisedNode, 'launched' | 'adopted'];
}

const ADOPTED_POLL_MS = 500;
/** How often a `cluster`-path node's stdout is read for its ready line, besides inotify's hints. */
const READY_POLL_MS = 250;
const MGMT_HOST = '127.0.0.1';
const LAST_EXIT_FILE = 'last-exit.json';
/** More than an exit record ever takes; a bigger file is not one. */
const LAST_EXIT_MAX_BYTES = 16 * 1024;

export class SupervisedNode extends EventEmitter<SupervisedNodeEvents> {
  state: State = 'PENDING';
  lastExit: ExitInfo | undefined;
  private proc: Running | undefined;
  private generation = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  readonly managementPath: ManagementPath;
  private readonly progress = new EventEmitter();
  /** False once stopped or closed: no more restarts. */
  private supervising = true;
  private checkedIn = false;
  /** How the previous process ended (also before this agent run: `last-exit.json`). */
  private exitRecord: ExitRecord | undefined;
  /** Automatic restarts since the node was deployed. */
  restarts = 0;

  constructor(private readonly host: NodeHost, readonly node: Node, private readonly layout: ClusterLayout, readonly dir: string) {
    super();
    this.backoff = new Backoff(host.backoff);
    this.progress.setMaxListeners(0);
    this.managementPath = host.runtime.managementPath(node, layout);
    this.exitRecord = readLastExit(dir);
  }

  /** A node an operator stopped, tracked without a process (after a deploy or an agent restart). */
  markStopped(): this {
    this.supervising = false;
    this.setState('STOPPED');
    return this;
  }

  /** The next failure starts the back-off (and the start limit's count) over. */
  resetBackoff(): void {
    this.backoff.reset();
  }

  get name(): string {
    return this.node.name;
  }

  get pid(): number | undefined {
    return this.proc?.id.pid;
  }

  /** When the current process was started (ms since the epoch), while there is one. */
  get startedAt(): number | undefined {
    return this.proc?.startedAt;
  }

  /** The layout the node was started with. */
  get clusterLayout(): ClusterLayout {
    return this.layout;
  }

  status(now = Date.now()): NodeStatus {
    const s: NodeStatus = { node: this.name, state: this.state, mgmtRole: 'NONE', clusterRole: this.node.role };
    if (this.proc) s.pid = this.proc.id.pid;
    if (this.node.port && this.node.port.number !== 0) s.port = this.node.port;
    if (this.node.metricsPort) s.metricsPort = this.node.metricsPort;
    const backend = Object.entries(backendPortsOf(this.layout, this.node.role));
    if (backend.length > 0) s.backendPorts = Object.fromEntries(backend.map(([k, p]) => [k, { number: p, protocol: 'tcp' as const }]));
    if (this.proc) {
      const { id, startedAt } = this.proc;
      s.uptimeMs = Math.max(0, now - startedAt);
      Object.assign(s, this.host.meter.usage(id.pid, id.startTime, startedAt, now));
    }
    s.restarts = this.restarts;
    if (this.exitRecord) s.lastExit = this.exitRecord;
    const capture = this.host.capture.of(this.name, this.proc?.id.pid);
    if (capture) {
      s.packetsReceived = capture.received;
      if (capture.dropped !== undefined) s.packetsDropped = capture.dropped;
      s.captureTime = new Date(capture.at).toISOString();
    }
    return s;
  }

  /** Where to read the capture figures of a RUNNING worker with a metrics port: its instance address. */
  get captureTarget(): CaptureTarget | undefined {
    if (this.node.role !== 'WORKER' || this.state !== 'RUNNING' || !this.node.metricsPort || !this.proc) return undefined;
    const ip = this.layout.nodes.find((n) => n.name === this.name)?.ip ?? '127.0.0.1';
    const host = ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip;
    return { node: this.name, host, port: this.node.metricsPort.number, pid: this.proc.id.pid };
  }

  /** Identity of the running process, for the CPU meter's samples. */
  get processIdentity(): ProcessIdentity | undefined {
    return this.proc?.id;
  }

  /** The node's management session, when connected and checked in. */
  sessionPeer(): string | undefined {
    return this.state === 'RUNNING' ? this.proc?.session?.peer()?.id : undefined;
  }

  /** Starts a new process for the node (the previous one must be gone). */
  async launch(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.supervising = true;
    const generation = ++this.generation;
    this.checkedIn = false;
    this.setState('PENDING');
    // Never through a link planted at nodes/<name>: what the agent writes stays under its state dir.
    makePrivateDir(this.dir, this.host.nodeUser ? { owner: this.host.nodeUser } : {});
    // The first failed run's output outlives the rotation of a crash loop; a node's first launch drops an earlier one's.
    if (generation === 1) forgetFirstFailure(this.dir);
    else if (this.lastExit && this.backoff.consecutiveFailures > 0) keepFirstFailure(this.dir);
    rotateOutputs(this.dir);
    const mgmtPort = await this.host.allocatePort();
    if (generation !== this.generation || !this.supervising) {
      this.host.releasePort(mgmtPort);
      return;
    }
    if (this.layout.bundle !== undefined) {
      const installed = await this.host.installBundle(this.layout.bundle, join(this.dir, BUNDLE_DIR));
      if (!installed.ok) {
        this.notStarted(generation, mgmtPort, this.host.runtime.describe, installed.error);
        return;
      }
      if (generation !== this.generation || !this.supervising) {
        this.host.releasePort(mgmtPort);
        return;
      }
    }
    const plan = this.host.runtime.plan({ node: this.node, layout: this.layout, nodeDir: this.dir, spoolDir: this.host.spoolDir, logQueueDir: this.host.logQueueDir, mgmtHost: MGMT_HOST, mgmtPort });
    writeNodeFiles(this.dir, plan.files, this.host.nodeUser);
    const token = randomUUID();
    const { command, args, unpinned } = commandLine(this.node, plan, this.host.taskset);
    if (unpinned) this.emit('error', this, unpinned);
    const spawned = await spawnNode(command, args, launchEnvironment(this.node, plan, this.dir, this.host.spoolDir, token), this.dir, this.host.nodeUser);
    if (!spawned.ok) {
      this.notStarted(generation, mgmtPort, command, spawned.error);
      return;
    }
    const child = spawned.value;
    const id = recordLaunch(this.dir, this.name, child, token, mgmtPort, this.restarts);
    this.host.log.info({ node: this.name, pid: id.pid, mgmtPort, command, args }, 'node launched');
    this.attach(id, mgmtPort, generation, child);
    this.emit('process', this, 'launched');
    child.once('exit', (code, signal) => this.onExit(generation, describeExit(code, signal)));
  }

  /** The process could not be spawned at all: FAILED, and tried again after the back-off. */
  private notStarted(generation: number, mgmtPort: number, command: string, reason: string): void {
    this.host.releasePort(mgmtPort);
    this.host.log.error({ node: this.name, command, reason }, 'node failed to start');
    this.recordExit(generation, { description: `could not be started: ${reason}` });
    if (!this.supervising || generation !== this.generation) return;
    this.setState('FAILED');
    this.emit('error', this, `node ${this.name} could not be started: ${reason}`);
    this.scheduleRestart(0);
  }

  /** Takes over a verified process from an earlier agent run. */
  adopt(record: PidRecord): void {
    const generation = ++this.generation;
    this.supervising = true;
    this.checkedIn = false;
    this.setState('PENDING');
    const id: ProcessIdentity = { pid: record.pid, startTime: record.startTime, token: record.token };
    this.restarts = record.restarts ?? 0;
    this.attach(id, record.mgmtPort, generation, undefined);
    const launched = Date.parse(record.launchedAt);
    if (Number.isFinite(launched) && this.proc) this.proc.startedAt = launched;
    this.emit('process', this, 'adopted');
    this.host.log.info({ node: this.name, pid: record.pid, mgmtPort: record.mgmtPort }, 'adopted running node');
  }

  /** Stops the process (SIGTERM, SIGKILL after the grace period) and stops supervising. */
  async stop(finalState: State = 'STOPPED'): Promise<void> {
    this.supervising = false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    if (proc) {
      const { killed } = await terminate(proc.id, this.host.stopGraceMs, proc.exited);
      if (killed) this.host.log.warn({ node: this.name, pid: proc.id.pid }, `node ignored SIGTERM for ${this.host.stopGraceMs} ms; killed`);
      // A child's exit event came first and told its status; an adopted process tells none.
      this.onExit(proc.generation, { description: killed ? 'stopped: killed after the stop grace period' : 'stopped' });
    }
    this.setState(finalState);
  }

  /** Stops the current process and starts a new one. */
  async restart(): Promise<void> {
    await this.stop('PENDING');
    this.backoff.reset();
    await this.launch();
  }

  /** Forgets the process without touching it (agent shutting down, node keeps running). */
  async detach(): Promise<void> {
    this.supervising = false;
    clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (!proc) return;
    clearInterval(proc.watch);
    proc.child?.removeAllListeners('exit');
    proc.unwatchStdout();
    this.proc = undefined;
    await proc.session?.close();
  }

  /** Waits until the current launch checks in, its process exits, or the deadline passes. */
  waitForCheckIn(deadline: number): Promise<CheckIn> {
    const generation = this.generation;
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.generation !== generation) { finish('exited'); return true; }
        if (this.state === 'RUNNING') { finish('running'); return true; }
        if (this.lastExit?.generation === generation) { finish('exited'); return true; }
        return false;
      };
      const timer = setTimeout(() => finish('timeout'), Math.max(0, deadline - Date.now()));
      const finish = (outcome: CheckIn): void => {
        clearTimeout(timer);
        this.progress.off('progress', check);
        resolve(outcome);
      };
      this.progress.on('progress', check);
      check();
    });
  }

  /** Output of the last exit of this launch, or the current files. */
  outputs(): NodeOutputs {
    if (this.lastExit?.generation === this.generation) return this.lastExit.outputs;
    return readOutputs(this.dir);
  }

  private attach(id: ProcessIdentity, mgmtPort: number, generation: number, child: ChildProcess | undefined): void {
    let session: NodeSession | undefined;
    let unwatchStdout: () => void;
    if (this.managementPath === 'listener') {
      const s = this.host.channel.connect(this.name, mgmtPort, MGMT_HOST, this.host.relayTopics(), (name) => this.onHello(generation, name));
      session = s;
      // A node prints when it is up (the sim node once it listens, management-node.zeek too): dial then, not at the next retry.
      unwatchStdout = watchStdout(this.dir, () => s.dialNow());
    } else {
      // Checked in by its ready line: read stdout on every write, and every READY_POLL_MS should inotify be unavailable.
      const check = (): void => { if (hasReadyLine(this.dir)) this.onHello(generation, this.name); };
      const unwatch = watchStdout(this.dir, check);
      const poll = setInterval(check, READY_POLL_MS);
      poll.unref();
      unwatchStdout = () => { unwatch(); clearInterval(poll); };
      queueMicrotask(check);
    }
    const proc: Running = { id, mgmtPort, startedAt: Date.now(), generation, session, unwatchStdout };
    if (child) {
      proc.child = child;
      proc.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    } else {
      proc.watch = setInterval(() => {
        if (!isRunning(id)) this.onExit(generation, { description: 'exited (status unknown: adopted, not a child of this agent)' });
      }, ADOPTED_POLL_MS);
      proc.watch.unref();
    }
    this.proc = proc;
  }

  private onHello(generation: number, name: string): void {
    if (generation !== this.generation) return;
    if (name !== this.name) {
      this.host.log.warn({ node: this.name, said: name }, 'a different node answered on this node\'s management port; ignoring');
      return;
    }
    this.checkedIn = true;
    this.proc?.unwatchStdout();
    this.setState('RUNNING');
  }

  private onExit(generation: number, how: ExitHow): void {
    const proc = this.proc;
    if (!proc || proc.generation !== generation) {
      if (generation === this.generation && this.lastExit?.generation !== generation) this.recordExit(generation, how);
      return;
    }
    this.proc = undefined;
    clearInterval(proc.watch);
    proc.unwatchStdout();
    void proc.session?.close();
    removePidFile(this.dir);
    this.host.releasePort(proc.mgmtPort);
    const record = this.recordExit(generation, this.supervising || how.description.startsWith('stopped') ? how : { ...how, description: `stopped: ${how.description}` });
    if (!this.supervising) return;
    const upMs = Date.now() - proc.startedAt;
    const state: State = this.checkedIn ? 'CRASHED' : 'FAILED';
    this.host.log.warn({ node: this.name, pid: proc.id.pid, exit: how.description, upMs }, 'node exited unexpectedly');
    try {
      this.host.recordCrash(this, record, proc.id.pid, upMs);
    } catch (err) {
      this.host.log.error({ node: this.name, err: (err as Error).message }, 'could not keep the crash evidence');
    }
    this.setState(state);
    this.emit('error', this, `node ${this.name} ${this.checkedIn ? 'crashed' : 'failed to start'}: ${how.description}`);
    this.scheduleRestart(upMs);
  }

  private recordExit(generation: number, how: ExitHow): ExitRecord {
    this.lastExit = { description: how.description, outputs: readOutputs(this.dir), generation };
    this.exitRecord = { time: new Date().toISOString(), ...how };
    try {
      // The node's directory may belong to the node's user: never write through what it put there.
      writePrivateFile(join(this.dir, LAST_EXIT_FILE), `${JSON.stringify(this.exitRecord)}\n`);
    } catch {
      // The directory is gone (the node was dropped); the record in memory serves.
    }
    this.progress.emit('progress');
    return this.exitRecord;
  }

  /** Restarts after the back-off, or gives up once the node failed `startLimit` runs in a row. */
  private scheduleRestart(upMs: number): void {
    const delay = this.backoff.next(upMs);
    const failures = this.backoff.consecutiveFailures;
    const limit = this.host.startLimit;
    if (limit > 0 && failures >= limit) {
      this.host.log.error({ node: this.name, failures, startLimit: limit }, 'start limit reached; not restarting the node');
      this.setState('FAILED');
      this.emit('error', this, `node ${this.name} failed ${failures} times in a row (start limit ${limit}); not restarting it. ` +
        `Its crash evidence is kept for diag; start, restart or a deploy tries again`);
      return;
    }
    this.host.log.info({ node: this.name, delayMs: delay, failures }, 'restarting node after back-off');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts += 1;
      this.launch().catch((err: Error) => this.emit('error', this, `could not restart node ${this.name}: ${err.message}`));
    }, delay);
  }

  private setState(next: State): void {
    const old = this.state;
    this.state = next;
    this.progress.emit('progress');
    if (old !== next) this.emit('change', this, old, next);
  }
}

function hasReadyLine(dir: string): boolean {
  return tailFile(join(dir, 'stdout'), 20).split('\n').some((line) => line.startsWith(READY_LINE));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): ExitHow {
  return signal ? { description: `killed by ${signal}`, signal } : { description: `exited with code ${code}`, ...(code === null ? {} : { code }) };
}

/** The exit record an earlier run left, if it reads as one. */
function readLastExit(dir: string): ExitRecord | undefined {
  try {
    const raw = JSON.parse(readTail(join(dir, LAST_EXIT_FILE), LAST_EXIT_MAX_BYTES)) as Partial<ExitRecord>;
    if (typeof raw.time !== 'string' || typeof raw.description !== 'string') return undefined;
    const record: ExitRecord = { time: raw.time, description: raw.description };
    if (Number.isInteger(raw.code)) record.code = raw.code!;
    if (typeof raw.signal === 'string') record.signal = raw.signal;
    return record;
  } catch {
    return undefined;
  }
}
