/**
 * The controller's settings: flags win over Zeek's environment variables,
 * which win over defaults (as the original's `Management::Controller`
 * options do), read by the rules of management/settings.ts.
 */
import { hostname } from 'node:os';
import { readLimits, type DaemonLimits, type LimitFlags } from '../management/limits.js';
import type { LogFormat, ManagementLogger } from '../management/log.js';
import {
  exposureRefusal, readHost, readLogFormat, readLogLevel, readPort, readSeconds, readTlsFiles, setting, settle, SettingsError, stateDirOf,
  type Setting, type TlsFlags,
} from '../management/settings.js';
import type { TlsFiles } from '../management/tls-material.js';
import type { Outcome } from '../protocol/errors.js';

export interface ControllerOptions {
  name: string;
  clientHost: string;
  /** WebSocket port for clients; 0 picks a free one. */
  clientPort: number;
  agentHost: string;
  /** WebSocket port for agents; 0 picks a free one. */
  agentPort: number;
  stateDir: string;
  requestTimeoutMs: number;
  autoAssignPorts: boolean;
  autoAssignMetricsPorts: boolean;
  portStart: number;
  metricsPortStart: number;
  /** How often the controller re-dials instances it connects to. */
  dialRetryMaxMs: number;
  /** What peers may send and what is held for them; the largest configuration; the log's rotation. */
  limits: DaemonLimits;
  logger?: ManagementLogger;
  logLevel?: string;
  logFormat?: LogFormat;
  security: ControllerSecurity;
}

export interface ControllerSecurity {
  /** TLS on both listeners and on the links to agents. */
  tls?: TlsFiles;
  /** Tokens and certificate roles for clients (management/auth-file.ts). */
  authFile?: string;
  /** Clients on loopback must authenticate too (otherwise they are operators, as with the original). */
  requireAuth: boolean;
  /** Listen off loopback without TLS, and let clients there in without credentials. */
  insecure: boolean;
  /** Browser origins allowed besides same-origin on an address. */
  allowedOrigins: string[];
  /** An operator token for this run only (`up`'s own client), never written anywhere. */
  launchToken?: string;
}

export const CONTROLLER_DEFAULTS = {
  clientHost: '127.0.0.1',
  clientPort: 2149,
  agentHost: '127.0.0.1',
  agentPort: 2150,
  requestTimeoutMs: 10_000,
  portStart: 2200,
  metricsPortStart: 9000,
  dialRetryMaxMs: 5_000,
} as const;

export interface ControllerFlags extends LimitFlags, TlsFlags {
  authFile?: string;
  requireAuth?: boolean;
  insecure?: boolean;
  allowOrigin?: string[];
  name?: string;
  clientAddress?: string;
  clientPort?: string;
  agentAddress?: string;
  agentPort?: string;
  stateDir?: string;
  requestTimeout?: string;
  autoAssignPorts?: boolean;
  autoAssignMetricsPorts?: boolean;
  portStart?: string;
  metricsPortStart?: string;
  logLevel?: string;
  logFormat?: string;
}

/** Builds the options from flags, then the environment, then defaults; or says which setting is bad. */
export function resolveControllerOptions(flags: ControllerFlags, env: NodeJS.ProcessEnv = process.env): Outcome<ControllerOptions> {
  return settle(() => {
    const get = (flag: string | undefined, flagName: string, envName?: string): Setting | undefined => setting(flag, flagName, env, envName);
    const port = (s: Setting | undefined, fallback: number, min = 0): number => (s === undefined ? fallback : readPort(s, min));
    const host = (s: Setting | undefined, fallback: string): string => (s === undefined ? fallback : readHost(s));
    const name = get(flags.name, '--name', 'ZEEK_CONTROLLER_NAME')?.text ?? `controller-${hostname()}`;
    const timeout = get(flags.requestTimeout, '--request-timeout');
    const logLevel = get(flags.logLevel, '--log-level');
    const clientHost = host(get(flags.clientAddress, '--client-address', 'ZEEK_CONTROLLER_WEBSOCKET_ADDR'), CONTROLLER_DEFAULTS.clientHost);
    const agentHost = host(get(flags.agentAddress, '--agent-address', 'ZEEK_CONTROLLER_ADDR'), CONTROLLER_DEFAULTS.agentHost);
    const tls = readTlsFiles(flags, env);
    const insecure = flags.insecure === true;
    const refusal = exposureRefusal('to listen for clients on', '--client-address', clientHost, tls !== undefined, insecure)
      ?? exposureRefusal('to listen for agents on', '--agent-address', agentHost, tls !== undefined, insecure);
    if (refusal) throw new SettingsError(refusal);
    const authFile = get(flags.authFile, '--auth-file', 'ZEEK_MGMT_AUTH_FILE')?.text;
    const allowedOrigins = (flags.allowOrigin ?? []).map((o) => readOrigin({ text: o, from: '--allow-origin' }));
    const logFormat = get(flags.logFormat, '--log-format');
    return {
      name,
      clientHost,
      clientPort: port(get(flags.clientPort, '--client-port', 'ZEEK_CONTROLLER_WEBSOCKET_PORT'), CONTROLLER_DEFAULTS.clientPort),
      agentHost,
      agentPort: port(get(flags.agentPort, '--agent-port', 'ZEEK_CONTROLLER_PORT'), CONTROLLER_DEFAULTS.agentPort),
      stateDir: stateDirOf(get(flags.stateDir, '--state-dir', 'ZEEK_MANAGEMENT_STATE_DIR'), name, process.cwd()),
      requestTimeoutMs: timeout === undefined ? CONTROLLER_DEFAULTS.requestTimeoutMs : readSeconds(timeout, 'positive'),
      autoAssignPorts: flags.autoAssignPorts ?? true,
      autoAssignMetricsPorts: flags.autoAssignMetricsPorts ?? true,
      portStart: port(get(flags.portStart, '--port-start'), CONTROLLER_DEFAULTS.portStart, 1),
      metricsPortStart: port(get(flags.metricsPortStart, '--metrics-port-start'), CONTROLLER_DEFAULTS.metricsPortStart, 1),
      dialRetryMaxMs: CONTROLLER_DEFAULTS.dialRetryMaxMs,
      limits: readLimits(flags),
      ...(logLevel ? { logLevel: readLogLevel(logLevel) } : {}),
      security: {
        ...(tls ? { tls } : {}),
        ...(authFile ? { authFile } : {}),
        requireAuth: flags.requireAuth === true,
        insecure,
        allowedOrigins,
      },
      ...(logFormat ? { logFormat: readLogFormat(logFormat) } : {}),
    };
  });
}

/** An origin as browsers send it: scheme, host and port, nothing else (`https://ui.example:8443`). */
function readOrigin(s: Setting): string {
  let url: URL | undefined;
  try {
    url = new URL(s.text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== s.text) {
    throw new SettingsError(`${s.from} must be an origin such as https://dashboard.example:8443 (scheme, host, port; no path), got ${JSON.stringify(s.text)}`);
  }
  return s.text;
}
