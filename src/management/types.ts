/**
 * The Management framework's shared model (Zeek's `Management::` records),
 * as typed values. Field order of the wire form lives in records.ts.
 */
import type { Port, Value } from '../protocol/index.js';

export const CLUSTER_ROLES = ['NONE', 'LOGGER', 'MANAGER', 'PROXY', 'WORKER'] as const;
/** `Supervisor::ClusterRole` without its module prefix. */
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

export const STATES = ['PENDING', 'RUNNING', 'STOPPED', 'FAILED', 'CRASHED', 'UNKNOWN'] as const;
/** `Management::State`. */
export type State = (typeof STATES)[number];

export const MGMT_ROLES = ['NONE', 'AGENT', 'CONTROLLER', 'NODE'] as const;
/** `Management::Role`. */
export type MgmtRole = (typeof MGMT_ROLES)[number];

export interface Instance {
  name: string;
  host: string;
  listenPort?: Port;
}

export interface NodeOption {
  name: string;
  value: string;
}

export interface Node {
  name: string;
  instance: string;
  role: ClusterRole;
  state: State;
  port?: Port;
  scripts?: string[];
  options?: NodeOption[];
  interface?: string;
  cpuAffinity?: number;
  env: Record<string, string>;
  metricsPort?: Port;
}

export const CLUSTER_BACKENDS = ['zeromq', 'broker'] as const;
/** The cluster backend the nodes talk over (Zeek's `Cluster::backend`). */
export type ClusterBackend = (typeof CLUSTER_BACKENDS)[number];
export const DEFAULT_BACKEND: ClusterBackend = 'zeromq';

/**
 * Cluster-wide settings: ours, a trailing field of the Configuration record
 * that the original does not have (zeek-client ignores it). The INI file's
 * `[cluster]` section. Absent values take defaults when the controller makes
 * the configuration ready.
 */
export interface ClusterSettings {
  backend?: ClusterBackend;
  /** ZeroMQ: where the manager's XPUB/XSUB proxy listens (nodes publish to XSUB, subscribe at XPUB). */
  xpubPort?: Port;
  xsubPort?: Port;
  /** Archived logs older than this many days are removed by each agent (zeekctl's `log_expire_days`); absent or 0: kept. */
  logExpireDays?: number;
  /** The script bundle every node loads: the sha256 (hex) of its archive in the controller's store. */
  bundle?: string;
}

/** The most log_expire_days a configuration may say (100 years). */
export const MAX_LOG_EXPIRE_DAYS = 36_500;

/** How a script bundle is named: the sha256 of its archive, 64 lowercase hex digits. */
export const BUNDLE_HASH = /^[0-9a-f]{64}$/;

export interface Configuration {
  id: string;
  instances: Instance[];
  nodes: Node[];
  /** Present when any cluster-wide setting is. */
  cluster?: ClusterSettings;
}

/** The backend a configuration's nodes use. */
export const backendOf = (config: Configuration): ClusterBackend => config.cluster?.backend ?? DEFAULT_BACKEND;

export interface NodeStatus {
  node: string;
  state: State;
  mgmtRole: MgmtRole;
  clusterRole: ClusterRole;
  pid?: number;
  port?: Port;
  metricsPort?: Port;
  /** Ours (a trailing field): further ports the node listens on for its cluster backend, e.g. ZeroMQ's `xpub`/`xsub` on the manager. */
  backendPorts?: Record<string, Port>;
  /** Ours, trailing fields from here on (zeek-client ignores them): how long the current process has run. */
  uptimeMs?: number;
  /** CPU use of the process over the last few seconds, in percent of one CPU. */
  cpuPercent?: number;
  /** Resident set size in bytes. */
  rssBytes?: number;
  /** Restarts after an unexpected exit since the node was deployed. */
  restarts?: number;
  /** How the node's previous process ended. */
  lastExit?: ExitRecord;
  /** Ours (fields [13]-[15]): a worker's capture figures from its metrics, for its current process: packets received, dropped, and when they were read (ISO 8601). */
  packetsReceived?: number;
  packetsDropped?: number;
  captureTime?: string;
}

/** Ours: how a node process ended — exit code or signal, when, and in words. */
export interface ExitRecord {
  /** ISO 8601. */
  time: string;
  code?: number;
  signal?: string;
  description: string;
}

/** Ours: one area of an instance's disk use (df): the agent's state, spool or archived logs. */
export interface AreaUse {
  name: string;
  path: string;
  /** Allocated bytes of the files and directories under it (as du counts). */
  bytes: number;
  files: number;
  /** Size and free space (for unprivileged users) of the filesystem it is on. */
  fsSize: number;
  fsFree: number;
}

export interface Result {
  reqid: string;
  success: boolean;
  instance?: string;
  /** `any` on the wire: its meaning depends on the response carrying it. */
  data?: Value;
  error?: string;
  node?: string;
}

export interface NodeOutputs {
  stdout: string;
  stderr: string;
}

export function failure(reqid: string, error: string, extra: Partial<Result> = {}): Result {
  return { reqid, success: false, error, ...extra };
}

export function success(reqid: string, extra: Partial<Result> = {}): Result {
  return { reqid, success: true, ...extra };
}
