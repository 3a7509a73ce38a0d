/**
 * The controller's settings: flags win over Zeek's environment variables,
 * which win over defaults (as the original's `Management::Controller`
 * options do).
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { ManagementLogger } from '../management/log.js';

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
}

export class SettingsError extends Error {}

export function parsePortSetting(text: string, what: string, allowZero = true): number {
  const n = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) throw new SettingsError(`${what} must be a port number (${allowZero ? 0 : 1}-65535), got "${text}"`);
  return n;
}

export function parseSeconds(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || text.trim() === '') throw new SettingsError(`${what} must be a positive number of seconds, got "${text}"`);
  return Math.round(n * 1000);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function parseLogLevel(text: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new SettingsError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return text;
}

/** Builds the options from flags, then the environment, then defaults. Throws SettingsError. */
export function resolveControllerOptions(flags: ControllerFlags, env: NodeJS.ProcessEnv = process.env): ControllerOptions {
  const pick = (flag: string | undefined, envName: string): string | undefined => flag ?? (env[envName] || undefined);
  const name = pick(flags.name, 'ZEEK_CONTROLLER_NAME') ?? `controller-${hostname()}`;
  const clientPort = pick(flags.clientPort, 'ZEEK_CONTROLLER_WEBSOCKET_PORT');
  const agentPort = pick(flags.agentPort, 'ZEEK_CONTROLLER_PORT');
  const stateDir = pick(flags.stateDir, 'ZEEK_MANAGEMENT_STATE_DIR') ?? join('.zeek-mgmt', name);
  return {
    name,
    clientHost: pick(flags.clientAddress, 'ZEEK_CONTROLLER_WEBSOCKET_ADDR') ?? CONTROLLER_DEFAULTS.clientHost,
    clientPort: clientPort === undefined ? CONTROLLER_DEFAULTS.clientPort : parsePortSetting(clientPort, '--client-port'),
    agentHost: pick(flags.agentAddress, 'ZEEK_CONTROLLER_ADDR') ?? CONTROLLER_DEFAULTS.agentHost,
    agentPort: agentPort === undefined ? CONTROLLER_DEFAULTS.agentPort : parsePortSetting(agentPort, '--agent-port'),
    stateDir: resolve(stateDir),
    requestTimeoutMs: flags.requestTimeout === undefined ? CONTROLLER_DEFAULTS.requestTimeoutMs : parseSeconds(flags.requestTimeout, '--request-timeout'),
    autoAssignPorts: flags.autoAssignPorts ?? true,
    autoAssignMetricsPorts: flags.autoAssignMetricsPorts ?? true,
    portStart: flags.portStart === undefined ? CONTROLLER_DEFAULTS.portStart : parsePortSetting(flags.portStart, '--port-start', false),
    metricsPortStart: flags.metricsPortStart === undefined ? CONTROLLER_DEFAULTS.metricsPortStart : parsePortSetting(flags.metricsPortStart, '--metrics-port-start', false),
    dialRetryMaxMs: CONTROLLER_DEFAULTS.dialRetryMaxMs,
    ...(flags.logLevel ? { logLevel: parseLogLevel(flags.logLevel) } : {}),
  };
}
