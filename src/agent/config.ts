/**
 * The agent's options and their defaults, and how they are read from flags,
 * then Zeek's environment variables, then defaults, by the rules of
 * management/settings.ts. Every bad value is reported as one error text.
 */
import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { readLimits, type DaemonLimits, type LimitFlags } from '../management/limits.js';
import type { LogFormat, ManagementLogger } from '../management/log.js';
import type { Owner } from '../management/private-files.js';
import { readKeyFile } from '../management/agent-key.js';
import {
  exposureRefusal, readCount, readHost, readHostPort, readLogFormat, readLogLevel, readPort, readSeconds, readTlsFiles, setting, settle, SettingsError, stateDirOf,
  type Setting, type TlsFlags,
} from '../management/settings.js';
import type { TlsFiles } from '../management/tls-material.js';
import type { Outcome } from '../protocol/errors.js';
import { findExecutable, probeZeek, type RuntimeKind, type ZeekVersion } from './runtimes/index.js';

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
  /** Failed runs in a row after which a node is left FAILED; 0 restarts forever. Default 5. */
  startLimit?: number;
  /** Crash directories kept per node. Default 5. */
  keepCrashes?: number;
  /** Where nodes rotate their logs to (default `<spool dir>/log-queue`). */
  logQueueDir?: string;
  /** Log archival: on (built in) unless false; `command` runs an external archiver instead. */
  archive?: { command?: string; intervalMs?: number; archiveDir?: string } | false;
  logger?: ManagementLogger;
  logLevel?: string;
  logFormat?: LogFormat;
  /** Lines worth logging at start (e.g. why this runtime was chosen). */
  notes?: string[];
  /** A controller running beside this agent (`zeek-mgmt up`), reported by get_nodes. */
  colocatedController?: { name: string; pid: number; port?: number };
  /** What peers may send and what is held for them; the log's rotation (defaults when absent). */
  limits?: DaemonLimits;
  /** Nodes run as this user (`--node-user`); as the agent's own user when absent. */
  nodeUser?: NodeUser;
  security: AgentSecurity;
}

export interface AgentSecurity {
  /** This agent's key (management/agent-key.ts): only a controller that proves it is obeyed. */
  key: Buffer;
  /** TLS on the listener and the link to the controller. */
  tls?: TlsFiles;
  /** Listen or dial off loopback without TLS. */
  insecure: boolean;
  /** Configurations may set loader variables (LD_PRELOAD, NODE_OPTIONS, …) for nodes. */
  allowLoaderEnv: boolean;
}

/** The user nodes run as, resolved once at start. */
export interface NodeUser extends Owner {
  readonly name: string;
}


export const AGENT_DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 2151,
  controllerHost: '127.0.0.1',
  controllerPort: 2150,
  nodeTimeoutMs: 5000,
  stopGraceMs: 5000,
  maxRestartBackoffMs: 60_000,
  archiveIntervalMs: 300_000,
  startLimit: 5,
  keepCrashes: 5,
} as const;

export interface AgentFlags extends LimitFlags, TlsFlags {
  nodeUser?: string;
  keyFile?: string;
  /** The key itself, for an agent started in-process (`up`), instead of --key-file. */
  key?: Buffer;
  insecure?: boolean;
  allowLoaderEnv?: boolean;
  name?: string;
  listenAddress?: string;
  listenPort?: string;
  listen?: boolean;
  controller?: string;
  connect?: boolean;
  stateDir?: string;
  spoolDir?: string;
  runtime?: string;
  zeekPath?: string;
  nodeTimeout?: string;
  stopGrace?: string;
  maxRestartBackoff?: string;
  restartBackoff?: string;
  startLimit?: string;
  keepCrashes?: string;
  archive?: boolean;
  archiveCmd?: string;
  archiveInterval?: string;
  archiveDir?: string;
  logQueueDir?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface ResolvedAgentConfig {
  options: AgentOptions;
  /** Things worth a log line at start (e.g. the runtime choice). */
  notes: string[];
}

export function resolveAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv, cwd: string): Outcome<ResolvedAgentConfig> {
  return settle(() => {
    const get = (flag: string | undefined, flagName: string, envName?: string): Setting | undefined => setting(flag, flagName, env, envName);
    const seconds = (flag: string | undefined, flagName: string, min: number): number | undefined => {
      const s = get(flag, flagName);
      return s === undefined ? undefined : readSeconds(s, min);
    };
    const notes: string[] = [];
    const name = get(flags.name, '--name', 'ZEEK_AGENT_NAME')?.text ?? `agent-${hostname()}`;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(name)) fail(`agent name ${JSON.stringify(name)} may hold only letters, digits, '_', '.', ':' and '-'`);

    const listenAt = get(flags.listenAddress, '--listen-address', 'ZEEK_AGENT_ADDR');
    const listenHost = listenAt ? readHost(listenAt) : AGENT_DEFAULTS.listenHost;
    const listenPortAt = get(flags.listenPort, '--listen-port', 'ZEEK_AGENT_PORT');
    const listenPort = listenPortAt ? readPort(listenPortAt) : AGENT_DEFAULTS.listenPort;
    let controllerHost: string = AGENT_DEFAULTS.controllerHost;
    let controllerPort: number = AGENT_DEFAULTS.controllerPort;
    const controller = get(flags.controller, '--controller');
    if (controller) ({ host: controllerHost, port: controllerPort } = readHostPort(controller));
    else {
      const hostAt = get(undefined, '', 'ZEEK_CONTROLLER_ADDR');
      const portAt = get(undefined, '', 'ZEEK_CONTROLLER_PORT');
      if (hostAt) controllerHost = readHost(hostAt);
      if (portAt) controllerPort = readPort(portAt);
    }
    const listen = flags.listen !== false;
    const connect = flags.connect !== false;
    if (!listen && !connect) fail('--no-listen and --no-connect together leave no way for a controller to reach this agent');

    const stateDir = stateDirOf(get(flags.stateDir, '--state-dir', 'ZEEK_MANAGEMENT_STATE_DIR'), name, cwd);
    const spoolDir = get(flags.spoolDir, '--spool-dir', 'ZEEK_MANAGEMENT_SPOOL_DIR')?.text;

    const zeekPath = flags.zeekPath ?? 'zeek';
    const zeekFound = findExecutable(zeekPath, env.PATH ?? '');
    const onPath = zeekPath.includes('/') ? '' : ' on PATH';
    let runtime: RuntimeKind;
    let zeekVersion: ZeekVersion | undefined;
    if (flags.runtime === undefined || flags.runtime === 'auto') {
      const probe = zeekFound ? probeZeek(zeekFound) : undefined;
      if (probe?.ok) {
        runtime = 'zeek';
        zeekVersion = probe.version;
      } else {
        runtime = 'sim';
        const why = probe && !probe.ok ? probe.error : `no zeek binary found (${zeekPath}${onPath})`;
        notes.push(`runtime auto: ${why}; running simulated nodes. Pass --runtime zeek --zeek-path PATH to require real Zeek`);
      }
    } else if (flags.runtime === 'sim' || flags.runtime === 'zeek') {
      runtime = flags.runtime;
      if (runtime === 'zeek') {
        if (!zeekFound) fail(`--runtime zeek: no executable zeek at ${JSON.stringify(zeekPath)}${onPath} (set --zeek-path)`);
        const probe = probeZeek(zeekFound);
        zeekVersion = probe.ok ? probe.version : fail(`--runtime zeek: ${probe.error}`);
      }
    } else return fail(`--runtime must be sim, zeek or auto, got ${JSON.stringify(flags.runtime)}`);

    const nodeTimeoutMs = seconds(flags.nodeTimeout, '--node-timeout', 0.1);
    const stopGraceMs = seconds(flags.stopGrace, '--stop-grace', 0);
    const maxRestartBackoffMs = seconds(flags.maxRestartBackoff, '--max-restart-backoff', 0.1);
    const initialRestartBackoffMs = seconds(flags.restartBackoff, '--restart-backoff', 0.05);
    const startLimit = flags.startLimit === undefined ? undefined : readCount({ text: flags.startLimit, from: '--start-limit' }, 0, 1000);
    const keepCrashes = flags.keepCrashes === undefined ? undefined : readCount({ text: flags.keepCrashes, from: '--keep-crashes' }, 0, 1000);
    const archiveIntervalMs = seconds(flags.archiveInterval, '--archive-interval', 1);
    const logLevel = get(flags.logLevel, '--log-level');
    const logFormat = get(flags.logFormat, '--log-format');
    if (flags.archive === false && (flags.archiveCmd ?? flags.archiveInterval ?? flags.archiveDir) !== undefined) {
      fail('--no-archive turns archival off: drop --archive-cmd, --archive-interval and --archive-dir, or --no-archive');
    }

    const tls = readTlsFiles(flags, env);
    const insecure = flags.insecure === true;
    const refusal = (listen ? exposureRefusal('to listen for controllers on', '--listen-address', listenHost, tls !== undefined, insecure) : undefined)
      ?? (connect ? exposureRefusal('to connect to the controller at', '--controller', controllerHost, tls !== undefined, insecure) : undefined);
    if (refusal) fail(refusal);
    const keyFile = get(flags.keyFile, '--key-file', 'ZEEK_MGMT_AGENT_KEY_FILE');
    let key = flags.key;
    if (keyFile) {
      const read = readKeyFile(keyFile.text);
      key = read.ok ? read.value : fail(`${keyFile.from}: ${read.error}`);
    }
    if (!key) {
      fail('the agent obeys only a controller that proves its key: give --key-file FILE [env ZEEK_MGMT_AGENT_KEY_FILE], '
        + `the file \`zeek-mgmt agent-key ${name}\` writes on the controller's host (\`zeek-mgmt up\` does this itself)`);
    }
    const security: AgentSecurity = { key: key!, insecure, allowLoaderEnv: flags.allowLoaderEnv === true, ...(tls ? { tls } : {}) };

    const options: AgentOptions = {
      name, listen, listenHost, listenPort, connect, controllerHost, controllerPort, stateDir, runtime, zeekPath: zeekFound ?? zeekPath, security,
      limits: readLimits(flags),
    };
    if (flags.nodeUser !== undefined) options.nodeUser = resolveUser(flags.nodeUser);
    if (spoolDir !== undefined) options.spoolDir = spoolDir;
    if (zeekVersion) options.zeekVersion = zeekVersion;
    if (nodeTimeoutMs !== undefined) options.nodeTimeoutMs = nodeTimeoutMs;
    if (stopGraceMs !== undefined) options.stopGraceMs = stopGraceMs;
    if (maxRestartBackoffMs !== undefined) options.maxRestartBackoffMs = maxRestartBackoffMs;
    if (initialRestartBackoffMs !== undefined) options.initialRestartBackoffMs = initialRestartBackoffMs;
    if (startLimit !== undefined) options.startLimit = startLimit;
    if (keepCrashes !== undefined) options.keepCrashes = keepCrashes;
    if (logLevel !== undefined) options.logLevel = readLogLevel(logLevel);
    if (logFormat !== undefined) options.logFormat = readLogFormat(logFormat);
    if (flags.logQueueDir !== undefined) options.logQueueDir = flags.logQueueDir;
    if (flags.archive === false) options.archive = false;
    else {
      options.archive = { intervalMs: archiveIntervalMs ?? AGENT_DEFAULTS.archiveIntervalMs };
      if (flags.archiveCmd !== undefined) options.archive.command = flags.archiveCmd;
      if (flags.archiveDir !== undefined) options.archive.archiveDir = flags.archiveDir;
    }
    return { options, notes };
  });
}

/** `--node-user`: a user name or uid, looked up with `id` (whatever NSS knows); the agent must be able to switch to it. */
function resolveUser(user: string): NodeUser {
  const lookup = (flag: '-u' | '-g'): number => {
    try {
      return Number(execFileSync('id', [flag, '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      return fail(`--node-user: no such user ${JSON.stringify(user)}`);
    }
  };
  const uid = lookup('-u');
  const gid = lookup('-g');
  if (process.getuid?.() !== 0 && uid !== process.getuid?.()) fail(`--node-user ${user}: the agent must run as root to start nodes as another user`);
  return { name: user, uid, gid };
}

function fail(message: string): never {
  throw new SettingsError(message);
}
