/**
 * Processes the benchmarks run: the product (controller, agents via the
 * compiled CLI) and the floor's scripts, each a real separate process in
 * its own process group, output to a file (not piped into the measuring
 * process), stopped by its owner — a `Procs` set closed in `finally`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { nowMs } from './stats.js';
import { AGENT_SECRET_FILE, agentKey, readKeyFile, writeKeyFile } from '../src/management/agent-key.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The executable as installed (dist/src/bin.cjs; run as a file, its #! line applies). */
export const CLI = fileURLToPath(new URL('../src/bin.cjs', import.meta.url));
export const benchScript = (name: string): string => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

/** Spawn concurrency of the agent's supervisor (SPAWN_CONCURRENCY in src/agent/supervisor.ts). */
export const AGENT_SPAWN_CONCURRENCY = 8;

export interface Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first output line matching `re`, polling the output file. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | string>;
}

/**
 * CPU pinning. Whether a round trip between two processes takes ~25 µs or
 * ~65 µs on these virtual machines depends on where the scheduler puts
 * them (same CPU, or a wake-up of an idle CPU through the hypervisor), and
 * that placement changes from block to block of a run: the product could
 * land in one mode and its floor in the other, giving 1.1× or 3.5× for the
 * same code. Benchmarks that compare round trips therefore run the bench
 * process, the product and the floor on one CPU, so both sides pay the
 * same scheduling cost and the ratio shows the difference in work. Others
 * (deploys, which need every CPU to spawn nodes) get all CPUs.
 * taskset is in util-linux; without it nothing is pinned.
 */
export const CAN_PIN = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
export const ALL_CPUS = `0-${cpus().length - 1}`;
/** The CPU the bench process runs on (see bench/run.ts) and round-trip benchmarks pin their processes to. */
export const BENCH_CPU = '0';

/** The command line that runs `args` with Node on the given CPUs. */
function onCpus(list: string, args: string[]): [string, string[]] {
  return CAN_PIN ? ['taskset', ['-c', list, process.execPath, ...args]] : [process.execPath, args];
}

/** Re-runs this process pinned to BENCH_CPU (once); returns whether the caller should stop and let the pinned copy work. */
export function runPinned(): boolean {
  if (!CAN_PIN || process.env.BENCH_PINNED) return false;
  const [cmd, args] = onCpus(BENCH_CPU, [...process.execArgv, ...process.argv.slice(1)]);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' } });
  process.exitCode = r.status ?? 1;
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* gone */ }
}

/** Owns the processes and the temp directory of one benchmark. */
export class Procs {
  readonly dir = mkdtempSync(join(tmpdir(), 'zeek-mgmt-bench-'));
  private readonly live = new Set<Proc>();
  private n = 0;

  /** `cpus`: a taskset list for every process started here (all CPUs unless told). */
  constructor(private readonly cpus = ALL_CPUS) {}

  spawn(args: string[], env: NodeJS.ProcessEnv = {}, command?: [string, string[]], cwd = this.dir): Proc {
    const file = join(this.dir, `proc-${++this.n}.out`);
    const fd = openSync(file, 'w');
    const [cmd, argv] = command ? (CAN_PIN ? ['taskset', ['-c', this.cpus, ...command.flat()]] as [string, string[]] : command) : onCpus(this.cpus, args);
    const child = spawn(cmd, argv, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env }, cwd });
    closeSync(fd);
    const exit = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
    const output = (): string => readFileSync(file, 'utf8');
    const proc: Proc = {
      pid: child.pid!,
      child,
      output,
      exited: () => exit,
      async waitFor(re, timeoutMs = 20000) {
        const until = Date.now() + timeoutMs;
        let done = false;
        void exit.then(() => { done = true; });
        for (;;) {
          const m = output().match(re);
          if (m) return m;
          if (done || Date.now() > until) throw new Error(`${done ? 'exited' : 'timed out'} before ${re}: ${args.join(' ')}\n${output().slice(-1500)}`);
          await sleep(20);
        }
      },
    };
    this.live.add(proc);
    void exit.then(() => this.live.delete(proc));
    return proc;
  }

  /** Another program (not Node), on this set's CPUs, in `cwd` (default the temp directory). */
  spawnCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = this.dir): Proc {
    return this.spawn(args, env, [command, args], cwd);
  }

  /** Product processes; BENCH_CPU_PROF=DIR runs them under --cpu-prof, profiles written to DIR on exit. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
    const prof = process.env.BENCH_CPU_PROF;
    return this.spawn([...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), CLI, ...args], env);
  }

  script(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
    return this.spawn([benchScript(name), ...args], env);
  }

  tempDir(name: string): string {
    return mkdtempSync(join(this.dir, `${name}-`));
  }

  /** SIGTERM every group, SIGKILL after a grace period, then removes the temp directory. */
  async close(graceMs = 5000): Promise<void> {
    const procs = [...this.live];
    for (const p of procs) killGroup(p.pid, 'SIGTERM');
    const timer = setTimeout(() => { for (const p of procs) killGroup(p.pid, 'SIGKILL'); }, graceMs);
    await Promise.all(procs.map((p) => p.exited()));
    clearTimeout(timer);
    for (const p of procs) killGroup(p.pid, 'SIGKILL');
    await this.stopStrayNodes(graceMs);
    // BENCH_KEEP=1 keeps the logs of the product processes for a post-mortem.
    if (process.env.BENCH_KEEP) process.stderr.write(`bench: kept ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Agents leave their nodes running when they stop (the next run adopts
   * them). Nodes found through pid files under our directory, whose working
   * directory is there too, are ours: stop their process groups.
   */
  private async stopStrayNodes(graceMs: number): Promise<void> {
    // Any process working under our directory: nodes of our agents, and of Zeek's own framework (real-zeek.ts).
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/cwd`).startsWith(this.dir)) pids.push(Number(entry));
      } catch { /* gone or not ours to read */ }
    }
    for (const pid of pids) killGroup(pid, 'SIGTERM');
    const until = Date.now() + graceMs;
    while (pids.some(alive) && Date.now() < until) await sleep(20);
    for (const pid of pids) killGroup(pid, 'SIGKILL');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const handedOut: [number, number][] = [];

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive ports free a moment ago on 127.0.0.1,
 * below the kernel's ephemeral range (32768+): a `--port-start` for the
 * ports a controller assigns (a manager takes three with ZeroMQ). A start
 * from listen(0) lies in the ephemeral range, where the next ports are soon
 * taken by outgoing connections and nodes' own listen(0). Never overlapping
 * a range handed out before in this process.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const start = 20000 + Math.floor(Math.random() * (12000 - count));
    if (handedOut.some(([s, n]) => start < s + n && s < start + count)) continue;
    let free = true;
    for (let p = start; p < start + count && free; p++) free = await bindable(p);
    if (free) {
      handedOut.push([start, count]);
      return start;
    }
  }
  throw new Error(`no ${count} free consecutive ports found below the ephemeral range`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process, in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** CPU time a process has used so far (all its threads), in ms, from the scheduler's ns counters. */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e6;
}

/** Starts the floor server process; resolves with its port. */
export async function startFloorServer(procs: Procs): Promise<number> {
  const proc = procs.script('floor-server', [String(AGENT_SPAWN_CONCURRENCY)]);
  const m = await proc.waitFor(/listening (\d+)/);
  return Number(m[1]);
}

export interface ControllerProc { proc: Proc; clientPort: number; agentPort: number; stateDir: string }

/** A 0600 key file for agent `name` of the controller (what `zeek-mgmt agent-key` writes), for `agent --key-file`. */
export function agentKeyFile(procs: Procs, controller: ControllerProc, name: string): string {
  const secret = readKeyFile(join(controller.stateDir, AGENT_SECRET_FILE));
  if (!secret.ok) throw new Error(secret.error);
  const path = join(procs.tempDir('key'), `${name}.key`);
  writeKeyFile(path, agentKey(secret.value, name));
  return path;
}

/**
 * Starts `zeek-mgmt controller` on ports the OS picks (no race with other
 * jobs on this host for a port probed free), read back from its start line.
 */
export async function startControllerProc(procs: Procs, extra: string[] = []): Promise<ControllerProc> {
  const base = procs.tempDir('controller');
  const name = 'bench-controller';
  const proc = procs.cli(['controller', '--client-port', '0', '--agent-port', '0',
    '--state-dir', base, '--name', name, ...extra]);
  const m = await proc.waitFor(/clients on [^,]*:(\d+), agents on [^"]*:(\d+)/);
  // A --state-dir is the base: the controller keeps its state in <base>/<name>.
  return { proc, clientPort: Number(m[1]), agentPort: Number(m[2]), stateDir: join(base, name) };
}

/**
 * Wall time of one whole process, from spawn to exit, with what it printed;
 * throws when it fails. Output is piped, as a script reading it would.
 */
export async function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; stdout: string }> {
  const t0 = nowMs();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const ms = nowMs() - t0;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`);
  return { ms, stdout };
}
