/**
 * The agent's options and their defaults, and how they are read from flags,
 * then Zeek's environment variables, then defaults, by the rules of
 * management/settings.ts. Every bad value is reported as one error text.
 */
import { hostname } from 'node:os';
import type { LogFormat, ManagementLogger } from '../management/log.js';
import {
  readHost, readHostPort, readLogFormat, readLogLevel, readPort, readSeconds, setting, settle, SettingsError, stateDirOf, type Setting,
} from '../management/settings.js';
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
} as const;

export interface AgentFlags {
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
    const archiveIntervalMs = seconds(flags.archiveInterval, '--archive-interval', 1);
    const logLevel = get(flags.logLevel, '--log-level');
    const logFormat = get(flags.logFormat, '--log-format');
    if (flags.archive === false && (flags.archiveCmd ?? flags.archiveInterval ?? flags.archiveDir) !== undefined) {
      fail('--no-archive turns archival off: drop --archive-cmd, --archive-interval and --archive-dir, or --no-archive');
    }

    const options: AgentOptions = {
      name, listen, listenHost, listenPort, connect, controllerHost, controllerPort, stateDir, runtime, zeekPath: zeekFound ?? zeekPath,
    };
    if (spoolDir !== undefined) options.spoolDir = spoolDir;
    if (zeekVersion) options.zeekVersion = zeekVersion;
    if (nodeTimeoutMs !== undefined) options.nodeTimeoutMs = nodeTimeoutMs;
    if (stopGraceMs !== undefined) options.stopGraceMs = stopGraceMs;
    if (maxRestartBackoffMs !== undefined) options.maxRestartBackoffMs = maxRestartBackoffMs;
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

function fail(message: string): never {
  throw new SettingsError(message);
}
