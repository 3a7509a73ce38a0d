/**
 * The limits of a daemon (controller, agent, or both in `up`): what its
 * listeners accept (protocol/limits.ts), the longest request id, the
 * largest configuration, and the size of its management log. One set of
 * flags, read by the rules of settings.ts, serves all three commands; the
 * README's "Limits" table lists them.
 */
import type { Command } from 'commander';
import { DEFAULT_LIMITS, type WireLimits } from '../protocol/limits.js';
import { LOG_ROTATION } from './log.js';
import { readCount, readSize, setting, type Setting } from './settings.js';

export interface DaemonLimits {
  readonly wire: WireLimits;
  /** Longest request id a request may carry; longer ones are refused, not stored or echoed. */
  readonly maxReqidLength: number;
  /** Most nodes in one configuration. */
  readonly maxNodes: number;
  /** Largest configuration, as stored (its JSON text). */
  readonly maxConfigBytes: number;
  /** management.log is rotated past this size … */
  readonly logMaxBytes: number;
  /** … keeping this many old files. */
  readonly logKeep: number;
}

export const DEFAULT_REQID_LENGTH = 256;

export const DEFAULT_DAEMON_LIMITS: DaemonLimits = Object.freeze({
  wire: DEFAULT_LIMITS,
  maxReqidLength: DEFAULT_REQID_LENGTH,
  maxNodes: 10_000,
  maxConfigBytes: 16 * 1024 * 1024,
  logMaxBytes: LOG_ROTATION.maxBytes,
  logKeep: LOG_ROTATION.keep,
});

/** The flags as commander hands them over. */
export interface LimitFlags {
  maxFrameSize?: string;
  maxDepth?: string;
  maxQueue?: string;
  maxConnectionsPerAddress?: string;
  maxRoutes?: string;
  maxReqidLength?: string;
  maxNodes?: string;
  maxConfigSize?: string;
  logMaxSize?: string;
  logKeep?: string;
}

const LIMIT_FLAGS = ['maxFrameSize', 'maxDepth', 'maxQueue', 'maxConnectionsPerAddress', 'maxRoutes', 'maxReqidLength', 'maxNodes', 'maxConfigSize', 'logMaxSize', 'logKeep'] as const;

/** The limit flags among `flags` (for `up`, which hands them to both daemons). */
export function limitFlagsOf(flags: Record<string, unknown>): LimitFlags {
  const out: Record<string, string> = {};
  for (const key of LIMIT_FLAGS) if (typeof flags[key] === 'string') out[key] = flags[key];
  return out;
}

const mib = (n: number): string => `${n / (1024 * 1024)}M`;

/** Adds the limit flags to a daemon command. */
export function addLimitOptions(command: Command): Command {
  const d = DEFAULT_DAEMON_LIMITS;
  return command
    .option('--max-frame-size <size>', `largest WebSocket frame accepted, e.g. 16M (default ${mib(d.wire.maxFrameBytes)})`)
    .option('--max-depth <n>', `deepest nesting of Broker values in a message (default ${d.wire.maxDepth})`)
    .option('--max-queue <size>', `bytes queued for a peer that stops reading before it is dropped (default ${mib(d.wire.maxQueueBytes)})`)
    .option('--max-connections-per-address <n>', `open connections from one address per listener (default ${d.wire.maxConnectionsPerAddress})`)
    .option('--max-routes <n>', `topics whose routes are cached (default ${d.wire.maxRoutes})`)
    .option('--max-reqid-length <n>', `longest request id accepted (default ${d.maxReqidLength})`)
    .option('--max-nodes <n>', `most nodes in a configuration (default ${d.maxNodes})`)
    .option('--max-config-size <size>', `largest configuration, as stored (default ${mib(d.maxConfigBytes)})`)
    .option('--log-max-size <size>', `rotate management.log past this size (default ${mib(d.logMaxBytes)})`)
    .option('--log-keep <n>', `rotated management.log files kept (default ${d.logKeep})`);
}

/** Reads the limit flags over the defaults; throws SettingsError (inside `settle`). */
export function readLimits(flags: LimitFlags): DaemonLimits {
  const d = DEFAULT_DAEMON_LIMITS;
  const get = (value: string | undefined, name: string): Setting | undefined => setting(value, name);
  const size = (value: string | undefined, name: string, fallback: number, min = 1): number => {
    const s = get(value, name);
    return s === undefined ? fallback : readSize(s, min);
  };
  const count = (value: string | undefined, name: string, fallback: number, min = 1): number => {
    const s = get(value, name);
    return s === undefined ? fallback : readCount(s, min);
  };
  const maxFrameBytes = size(flags.maxFrameSize, '--max-frame-size', d.wire.maxFrameBytes, 1024);
  return {
    wire: {
      ...d.wire,
      maxFrameBytes,
      maxDepth: count(flags.maxDepth, '--max-depth', d.wire.maxDepth, 16),
      maxQueueBytes: size(flags.maxQueue, '--max-queue', d.wire.maxQueueBytes, 1024),
      maxConnectionsPerAddress: count(flags.maxConnectionsPerAddress, '--max-connections-per-address', d.wire.maxConnectionsPerAddress),
      maxRoutes: count(flags.maxRoutes, '--max-routes', d.wire.maxRoutes),
    },
    maxReqidLength: count(flags.maxReqidLength, '--max-reqid-length', d.maxReqidLength, 36),
    maxNodes: count(flags.maxNodes, '--max-nodes', d.maxNodes),
    maxConfigBytes: size(flags.maxConfigSize, '--max-config-size', d.maxConfigBytes, 1024),
    logMaxBytes: size(flags.logMaxSize, '--log-max-size', d.logMaxBytes, 4096),
    logKeep: count(flags.logKeep, '--log-keep', d.logKeep, 0),
  };
}
