/**
 * The agent's settings from flags, then Zeek's environment variables, then
 * defaults. Every bad value is reported as one clear error text.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { DEFAULTS, type AgentOptions } from './main.js';
import { findExecutable, probeZeek, type RuntimeKind, type ZeekVersion } from './runtimes/index.js';

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
}

export interface ResolvedAgentConfig {
  options: AgentOptions;
  /** Things worth a log line at start (e.g. the runtime choice). */
  notes: string[];
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function parsePortText(text: string, what: string): number | string {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return `${what} must be a port number (0-65535), got ${JSON.stringify(text)}`;
  return Number(text);
}

function parseSeconds(text: string | undefined, what: string, min: number): number | undefined | string {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min) return `${what} must be a number of seconds${min > 0 ? ` of at least ${min}` : ''}, got ${JSON.stringify(text)}`;
  return Math.round(n * 1000);
}

function parseHostPort(text: string, what: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) return `${what} must be host:port, got ${JSON.stringify(text)}`;
  const port = parsePortText(m[3]!, `${what} port`);
  if (typeof port === 'string') return port;
  return { host: m[1] ?? m[2]!, port };
}

function validHost(host: string): boolean {
  return isIP(host) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host);
}

export function resolveAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv, cwd: string): ResolvedAgentConfig | string {
  const notes: string[] = [];
  const name = flags.name ?? (env.ZEEK_AGENT_NAME || `agent-${hostname()}`);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(name)) return `agent name ${JSON.stringify(name)} may hold only letters, digits, '_', '.', ':' and '-'`;

  const listenHost = flags.listenAddress ?? (env.ZEEK_AGENT_ADDR || DEFAULTS.listenHost);
  if (!validHost(listenHost)) return `listen address ${JSON.stringify(listenHost)} is not an address or host name`;
  let listenPort: number = DEFAULTS.listenPort;
  const portText = flags.listenPort ?? (env.ZEEK_AGENT_PORT || undefined);
  if (portText !== undefined) {
    const p = parsePortText(portText.replace(/\/tcp$/, ''), flags.listenPort !== undefined ? '--listen-port' : 'ZEEK_AGENT_PORT');
    if (typeof p === 'string') return p;
    listenPort = p;
  }

  let controllerHost: string = DEFAULTS.controllerHost;
  let controllerPort: number = DEFAULTS.controllerPort;
  if (flags.controller !== undefined) {
    const hp = parseHostPort(flags.controller, '--controller');
    if (typeof hp === 'string') return hp;
    ({ host: controllerHost, port: controllerPort } = hp);
  } else {
    if (env.ZEEK_CONTROLLER_ADDR) controllerHost = env.ZEEK_CONTROLLER_ADDR;
    if (env.ZEEK_CONTROLLER_PORT) {
      const p = parsePortText(env.ZEEK_CONTROLLER_PORT.replace(/\/tcp$/, ''), 'ZEEK_CONTROLLER_PORT');
      if (typeof p === 'string') return p;
      controllerPort = p;
    }
  }
  if (!validHost(controllerHost)) return `controller address ${JSON.stringify(controllerHost)} is not an address or host name`;
  const listen = flags.listen !== false;
  const connect = flags.connect !== false;
  if (!listen && !connect) return '--no-listen and --no-connect together leave no way for a controller to reach this agent';

  const stateDir = flags.stateDir ?? (env.ZEEK_MANAGEMENT_STATE_DIR || join(cwd, '.zeek-mgmt', name));
  const spoolDir = flags.spoolDir ?? (env.ZEEK_MANAGEMENT_SPOOL_DIR || undefined);

  const zeekPath = flags.zeekPath ?? 'zeek';
  let runtime: RuntimeKind;
  let zeekVersion: ZeekVersion | undefined;
  const zeekFound = findExecutable(zeekPath, env.PATH ?? '');
  if (flags.runtime === undefined || flags.runtime === 'auto') {
    const probe = zeekFound ? probeZeek(zeekFound) : undefined;
    if (probe?.ok) {
      runtime = 'zeek';
      zeekVersion = probe.version;
    } else {
      runtime = 'sim';
      const why = probe && !probe.ok ? probe.error : `no zeek binary found (${zeekPath}${zeekPath.includes('/') ? '' : ' on PATH'})`;
      notes.push(`runtime auto: ${why}; running simulated nodes. Pass --runtime zeek --zeek-path PATH to require real Zeek`);
    }
  } else if (flags.runtime === 'sim' || flags.runtime === 'zeek') {
    runtime = flags.runtime;
    if (runtime === 'zeek') {
      if (!zeekFound) return `--runtime zeek: no executable zeek at ${JSON.stringify(zeekPath)}${zeekPath.includes('/') ? '' : ' on PATH'} (set --zeek-path)`;
      const probe = probeZeek(zeekFound);
      if (!probe.ok) return `--runtime zeek: ${probe.error}`;
      zeekVersion = probe.version;
    }
  } else return `--runtime must be sim, zeek or auto, got ${JSON.stringify(flags.runtime)}`;

  const nodeTimeoutMs = parseSeconds(flags.nodeTimeout, '--node-timeout', 0.1);
  const stopGraceMs = parseSeconds(flags.stopGrace, '--stop-grace', 0);
  const maxRestartBackoffMs = parseSeconds(flags.maxRestartBackoff, '--max-restart-backoff', 0.1);
  const archiveIntervalMs = parseSeconds(flags.archiveInterval, '--archive-interval', 1);
  for (const v of [nodeTimeoutMs, stopGraceMs, maxRestartBackoffMs, archiveIntervalMs]) if (typeof v === 'string') return v;
  if (flags.logLevel !== undefined && !LEVELS.includes(flags.logLevel)) return `--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(flags.logLevel)}`;
  if (flags.archive === false && (flags.archiveCmd ?? flags.archiveInterval ?? flags.archiveDir) !== undefined) {
    return '--no-archive turns archival off: drop --archive-cmd, --archive-interval and --archive-dir, or --no-archive';
  }

  const options: AgentOptions = {
    name, listen, listenHost, listenPort, connect, controllerHost, controllerPort, stateDir, runtime, zeekPath: zeekFound ?? zeekPath,
  };
  if (spoolDir !== undefined) options.spoolDir = spoolDir;
  if (zeekVersion) options.zeekVersion = zeekVersion;
  if (typeof nodeTimeoutMs === 'number') options.nodeTimeoutMs = nodeTimeoutMs;
  if (typeof stopGraceMs === 'number') options.stopGraceMs = stopGraceMs;
  if (typeof maxRestartBackoffMs === 'number') options.maxRestartBackoffMs = maxRestartBackoffMs;
  if (flags.logLevel !== undefined) options.logLevel = flags.logLevel;
  if (flags.logQueueDir !== undefined) options.logQueueDir = flags.logQueueDir;
  if (flags.archive === false) options.archive = false;
  else {
    options.archive = { intervalMs: typeof archiveIntervalMs === 'number' ? archiveIntervalMs : DEFAULTS.archiveIntervalMs };
    if (flags.archiveCmd !== undefined) options.archive.command = flags.archiveCmd;
    if (flags.archiveDir !== undefined) options.archive.archiveDir = flags.archiveDir;
  }
  return { options, notes };
}
