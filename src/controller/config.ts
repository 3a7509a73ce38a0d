/**
 * The controller's settings: flags win over Zeek's environment variables,
 * which win over defaults (as the original's `Management::Controller`
 * options do), read by the rules of management/settings.ts.
 */
import { hostname } from 'node:os';
import type { ManagementLogger } from '../management/log.js';
import type { LogFormat } from '../management/log.js';
import { readHost, readLogFormat, readLogLevel, readPort, readSeconds, setting, settle, stateDirOf, type Setting } from '../management/settings.js';
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
  logger?: ManagementLogger;
  logLevel?: string;
  logFormat?: LogFormat;
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

export interface ControllerFlags {
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
    const logFormat = get(flags.logFormat, '--log-format');
    return {
      name,
      clientHost: host(get(flags.clientAddress, '--client-address', 'ZEEK_CONTROLLER_WEBSOCKET_ADDR'), CONTROLLER_DEFAULTS.clientHost),
      clientPort: port(get(flags.clientPort, '--client-port', 'ZEEK_CONTROLLER_WEBSOCKET_PORT'), CONTROLLER_DEFAULTS.clientPort),
      agentHost: host(get(flags.agentAddress, '--agent-address', 'ZEEK_CONTROLLER_ADDR'), CONTROLLER_DEFAULTS.agentHost),
      agentPort: port(get(flags.agentPort, '--agent-port', 'ZEEK_CONTROLLER_PORT'), CONTROLLER_DEFAULTS.agentPort),
      stateDir: stateDirOf(get(flags.stateDir, '--state-dir', 'ZEEK_MANAGEMENT_STATE_DIR'), name, process.cwd()),
      requestTimeoutMs: timeout === undefined ? CONTROLLER_DEFAULTS.requestTimeoutMs : readSeconds(timeout, 'positive'),
      autoAssignPorts: flags.autoAssignPorts ?? true,
      autoAssignMetricsPorts: flags.autoAssignMetricsPorts ?? true,
      portStart: port(get(flags.portStart, '--port-start'), CONTROLLER_DEFAULTS.portStart, 1),
      metricsPortStart: port(get(flags.metricsPortStart, '--metrics-port-start'), CONTROLLER_DEFAULTS.metricsPortStart, 1),
      dialRetryMaxMs: CONTROLLER_DEFAULTS.dialRetryMaxMs,
      ...(logLevel ? { logLevel: readLogLevel(logLevel) } : {}),
      ...(logFormat ? { logFormat: readLogFormat(logFormat) } : {}),
    };
  });
}
