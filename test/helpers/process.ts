/**
 * Test helpers for real processes: each runs in its own process group, its
 * output is collected, and `cleanup()` kills the whole group, so a failing
 * test still leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the executable as installed (dist/src/bin.cjs: the client bundle for plain client commands). */
export const CLI = fileURLToPath(new URL('../../src/bin.cjs', import.meta.url));
/** The same dispatch over the ES modules, without the bundle (dist/src/cli.js). */
export const MODULE_CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout/stderr text matching `re` (rejects on exit or timeout). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string>;
  /** SIGTERM then SIGKILL to the whole process group. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Proc>();

export function spawnProc(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Proc {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const proc: Proc = {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 15000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = (out + '\n' + err).match(re);
          if (m) { done(); resolve(m); return true; }
          return false;
        };
        const onData = (): void => { check(); };
        const onExit = (): void => { if (!check()) { done(); reject(new Error(`process exited before ${re}; stderr:\n${err.slice(-2000)}\nstdout:\n${out.slice(-2000)}`)); } };
        const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${re}; stderr:\n${err.slice(-2000)}\nstdout:\n${out.slice(-2000)}`)); }, timeoutMs);
        const done = (): void => { clearTimeout(timer); child.stdout!.off('data', onData); child.stderr!.off('data', onData); child.off('exit', onExit); };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', onExit);
        if (child.exitCode !== null || child.signalCode !== null) { onExit(); return; }
        check();
      });
    },
    exited: () => exit,
    async stop(graceMs = 3000) {
      live.delete(proc);
      killGroup(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      killGroup(child.pid!, 'SIGKILL');
    },
  };
  live.add(proc);
  return proc;
}

/** Runs `zeek-mgmt ARGS` from the compiled build (`entry`: another entry file than the executable's). */
export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; entry?: string } = {}): Proc {
  return spawnProc(process.execPath, [options.entry ?? CLI, ...args], options);
}

/** Runs a CLI command to completion. */
export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number; entry?: string } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = spawnCli(args, options);
  const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), options.timeoutMs ?? 30000);
  const code = await proc.exited();
  clearTimeout(timer);
  live.delete(proc);
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/**
 * Runs a CLI command with an ES module hook that reports every file module
 * it loads; `loaded` lists their URLs. CommonJS requires (ws, lossless-json
 * through their loaders) are not seen.
 */
export async function runCliTracingLoads(args: string[], options: { env?: NodeJS.ProcessEnv; entry?: string } = {}): Promise<{ code: number | string; stdout: string; stderr: string; loaded: string[] }> {
  const hook = join(tempDir(), 'trace-loads.mjs');
  const resolver = "export async function resolve(s, c, n) { const r = await n(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOAD ' + r.url + '\\n'); return r; }";
  writeFileSync(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`);
  const proc = spawnProc(process.execPath, ['--import', hook, options.entry ?? CLI, ...args], options);
  const code = await proc.exited();
  live.delete(proc);
  const lines = proc.stderr().split('\n');
  return {
    code,
    stdout: proc.stdout(),
    stderr: lines.filter((l) => !l.startsWith('LOAD ')).join('\n'),
    loaded: [...new Set(lines.filter((l) => l.startsWith('LOAD ')).map((l) => l.slice(5)))],
  };
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Stops every process this test file started and is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(1000)));
}

const dirs = new Set<string>();

export function tempDir(prefix = 'zeek-mgmt-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/**
 * Kills every process working in one of this test process's temp dirs: the
 * node processes an agent started (they run in their own sessions, so
 * stopping the agent's group does not reach them, and an agent killed before
 * its stop grace ended leaves them running by design, for adoption).
 */
export function killStrays(): number[] {
  const killed: number[] = [];
  const roots = [...dirs];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return killed;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (!roots.some((root) => cwd === root || cwd.startsWith(root + '/'))) continue;
    killGroup(pid, 'SIGKILL');
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone
    }
  }
  return killed;
}

export function removeTempDirs(): void {
  killStrays();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port that was free a moment ago on 127.0.0.1, chosen below the kernel's
 * ephemeral range (32768+): ports the OS hands to outgoing connections and to
 * `listen(0)` (node management ports) never race with it, and a range
 * starting at it (`--port-start P` uses P, P+1, …) stays clear too. Never the
 * same port twice in one test process.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port) || handedOut.has(port - 1) || handedOut.has(port + 1)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found below the ephemeral range');
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10000, intervalMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** Whether a pid is alive (and not a zombie). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}
