/**
 * What the simulated node is told at start, read the way Zeek reads it: the
 * node name from CLUSTER_NODE, the interface from `-i`, scripts as trailing
 * arguments, the layout file from `--layout`; plus the management port and
 * the fault switches from the environment.
 */
import type { Outcome } from '../protocol/errors.js';

/** Environment variables the simulated node understands. */
export const SIM_ENV = {
  /** Seconds after check-in at which the node crashes (exit code 1, message on stderr). */
  crashAfter: 'ZEEK_MGMT_SIM_CRASH_AFTER',
  /** Any non-empty value other than 0/false: the node starts but never listens nor checks in. */
  hang: 'ZEEK_MGMT_SIM_HANG',
  /** Seconds to wait before listening (a slow start). */
  startDelay: 'ZEEK_MGMT_SIM_START_DELAY',
  /** Non-empty: checks in but never answers node_dispatch_request (exercises request timeouts). */
  mute: 'ZEEK_MGMT_SIM_MUTE',
  /** Non-empty: ignore SIGTERM (only SIGKILL stops it), to exercise the agent's stop grace. */
  ignoreTerm: 'ZEEK_MGMT_SIM_IGNORE_SIGTERM',
  /** The share of a worker's packets dropped, in percent of those on its interface (default 0.02): e.g. 8 for an overloaded sensor. */
  dropPercent: 'ZEEK_MGMT_SIM_DROP_PERCENT',
  /** Packets per second on a worker's interface (default: 2000 to 12000, by its name). */
  packetRate: 'ZEEK_MGMT_SIM_PPS',
  /** Management WebSocket port (set by the agent). */
  mgmtPort: 'ZEEK_MGMT_NODE_PORT',
  /** Management WebSocket address (default 127.0.0.1). */
  mgmtAddr: 'ZEEK_MGMT_NODE_ADDR',
  /** The agent's log queue (set by the agent). */
  logQueueDir: 'ZEEK_MGMT_LOG_QUEUE_DIR',
} as const;

export interface SimOptions {
  node: string;
  layoutFile: string;
  interface?: string;
  scripts: string[];
  mgmtHost: string;
  mgmtPort: number;
  crashAfterMs?: number;
  startDelayMs: number;
  hang: boolean;
  mute: boolean;
  /** `--parse-only` (zeek's `-a`): check the layout and scripts, start nothing. */
  parseOnly: boolean;
  ignoreTerm: boolean;
  /** Where rotated logs would go (`Log::default_rotation_dir`). */
  logQueueDir: string;
  /** A worker's simulated capture: packets per second and the share dropped, in percent. */
  packetRate?: number;
  dropPercent: number;
}

/** Thrown while reading the options; parseSimOptions returns its text. */
class OptionError extends Error {}

function seconds(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new OptionError(`${key} must be a number of seconds, got ${JSON.stringify(raw)}`);
  return Math.round(n * 1000);
}

function number(env: NodeJS.ProcessEnv, key: string, max: number): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new OptionError(`${key} must be a number from 0 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

const flag = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

export function parseSimOptions(argv: string[], env: NodeJS.ProcessEnv): Outcome<SimOptions> {
  try {
    return { ok: true, value: readSimOptions(argv, env) };
  } catch (err) {
    if (err instanceof OptionError) return { ok: false, error: err.message };
    throw err;
  }
}

function readSimOptions(argv: string[], env: NodeJS.ProcessEnv): SimOptions {
  const fail = (message: string): never => { throw new OptionError(message); };
  const scripts: string[] = [];
  let iface: string | undefined;
  let layoutFile = 'cluster-layout.json';
  let parseOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      scripts.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--parse-only' || arg === '-a') {
      parseOnly = true;
    } else if (arg === '-i' || arg === '--iface') {
      iface = argv[++i] ?? fail(`${arg} needs an interface name`);
    } else if (arg === '--layout') {
      layoutFile = argv[++i] ?? fail('--layout needs a file');
    } else scripts.push(arg);
  }
  const node = env.CLUSTER_NODE || fail('CLUSTER_NODE is not set: a cluster node needs its name');
  const port = Number(env[SIM_ENV.mgmtPort]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${SIM_ENV.mgmtPort} must be a port number, got ${JSON.stringify(env[SIM_ENV.mgmtPort] ?? '')}`);
  const crashAfterMs = seconds(env, SIM_ENV.crashAfter);
  const packetRate = number(env, SIM_ENV.packetRate, 1e9);
  const dropPercent = number(env, SIM_ENV.dropPercent, 100);
  const startDelayMs = seconds(env, SIM_ENV.startDelay);
  const options: SimOptions = {
    node,
    layoutFile,
    scripts,
    mgmtHost: env[SIM_ENV.mgmtAddr] || '127.0.0.1',
    mgmtPort: port,
    startDelayMs: startDelayMs ?? 0,
    hang: flag(env[SIM_ENV.hang]),
    mute: flag(env[SIM_ENV.mute]),
    ignoreTerm: flag(env[SIM_ENV.ignoreTerm]),
    parseOnly,
    logQueueDir: env[SIM_ENV.logQueueDir] || `${(env.ZEEK_MANAGEMENT_SPOOL_DIR || '.').replace(/\/$/, '')}/log-queue`,
    dropPercent: dropPercent ?? 0.02,
  };
  if (packetRate !== undefined) options.packetRate = packetRate;
  if (iface !== undefined) options.interface = iface;
  if (crashAfterMs !== undefined) options.crashAfterMs = crashAfterMs;
  return options;
}
