/**
 * A controller and an agent as separate processes (the agent named
 * agent-test), driven by the client as an operator would: for end-to-end
 * tests on the sim runtime or the real Zeek. Free ports, temp state dirs;
 * every process is stopped by the helpers' stopAll().
 */
import { agentKeyFile } from '../controller/harness.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, freePort, runCli, spawnCli, tempDir, type Proc } from './process.js';

export const AGENT = 'agent-test';

export type NodeState = {
  state: string; pid?: number; port?: number; cluster_role: string | null; backend_ports?: Record<string, number>;
  uptime_secs?: number; cpu_percent?: number; rss_bytes?: number; restarts?: number; last_exit?: { time: string; code?: number; signal?: string; description: string };
  packets_received?: number; packets_dropped?: number;
};

export interface Cluster {
  controller: Proc;
  agent: Proc;
  state: string;
  clientPort: number;
  client: (args: string[]) => ReturnType<typeof runCli>;
  /** `zeek-mgmt monitor`, once it has peered. */
  monitor: () => Promise<Proc>;
  /** The cluster nodes (not the agent or controller) by name; every pid seen is noted in `pids`. */
  nodes: () => Promise<Record<string, NodeState>>;
  /** Waits until exactly these nodes are listed and each is RUNNING with a pid. */
  allRunning: (names: string[], timeoutMs?: number) => Promise<Record<string, NodeState>>;
  /** Starts the controller again on the same state (after it was stopped or killed). */
  startController: () => Promise<void>;
  /** Starts the agent again, on the same state directory (<state>/agent-test) unless told another base. */
  startAgent: (base?: string) => Promise<void>;
  pids: Set<number>;
}

export interface ClusterOptions {
  runtime: 'sim' | 'zeek';
  zeekPath?: string;
  agentArgs?: string[];
  nodeTimeoutS?: number;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const [clientPort, agentPort, listenPort, portStart, metricsStart] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const state = tempDir('zeek-mgmt-cluster-');
  // State under <state>/controller and <state>/agent-test (a --state-dir is the base for every component's <base>/<name>).
  const controllerArgs = ['controller', '--name', 'controller', '--client-port', String(clientPort), '--agent-port', String(agentPort), '--state-dir', state,
    '--port-start', String(portStart), '--metrics-port-start', String(metricsStart), '--request-timeout', '40', '--log-level', 'info'];
  // The key is derived from the controller's agent-secret, made when it first starts: asked for once the controller is up.
  const agentArgs = (base: string): string[] => ['agent', '--name', AGENT, '--key-file', agentKeyFile(join(state, 'controller'), AGENT), '--listen-port', String(listenPort), '--controller', `127.0.0.1:${agentPort}`,
    '--state-dir', base, '--runtime', o.runtime, ...(o.zeekPath ? ['--zeek-path', o.zeekPath] : []), '--node-timeout', String(o.nodeTimeoutS ?? 8),
    '--stop-grace', '3', '--log-level', 'info', ...(o.agentArgs ?? [])];
  const pids = new Set<number>();
  const client = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['--controller', `127.0.0.1:${clientPort}`, '--set', 'client.request_timeout_secs=60', ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' }, timeoutMs: 120_000 });
  const c: Cluster = {
    controller: undefined as unknown as Proc,
    agent: undefined as unknown as Proc,
    state,
    clientPort,
    client,
    pids,
    async monitor() {
      const m = spawnCli(['--controller', `127.0.0.1:${clientPort}`, '-vv', 'monitor']);
      await m.waitFor(/info: peered with controller/);
      return m;
    },
    async nodes() {
      const r = await client(['get-nodes']);
      const json = JSON.parse(r.stdout) as { results: Record<string, Record<string, NodeState>> };
      const all = Object.assign({}, ...Object.values(json.results)) as Record<string, NodeState>;
      const cluster = Object.fromEntries(Object.entries(all).filter(([, s]) => s.cluster_role !== null));
      for (const s of Object.values(cluster)) if (s.pid) pids.add(s.pid);
      return cluster;
    },
    allRunning(names, timeoutMs = 40_000) {
      return eventually(async () => {
        const nodes = await c.nodes();
        return names.every((n) => nodes[n]?.state === 'RUNNING' && nodes[n]?.pid) && Object.keys(nodes).length === names.length ? nodes : undefined;
      }, timeoutMs, 250);
    },
    async startController() {
      c.controller = spawnCli(controllerArgs);
      await c.controller.waitFor(/controller is live/);
    },
    async startAgent(base = state) {
      c.agent = spawnCli(agentArgs(base));
      await c.agent.waitFor(/agent is live/);
      await eventually(async () => Object.keys(JSON.parse((await client(['get-instances'])).stdout) as object).includes(AGENT), 15000, 200);
    },
  };
  await c.startController();
  await c.startAgent();
  return c;
}

/** A configuration file: the example with every node in instance agent-test, sections edited by `edit`. */
export function configFile(example: string, edit: (text: string) => string = (t) => t): string {
  const text = readFileSync(example, 'utf8').replace(/^role = (\w+)$/gm, `role = $1\ninstance = ${AGENT}`);
  const file = join(tempDir(), 'cluster.ini');
  writeFileSync(file, edit(text));
  return file;
}

/** Kills leftover node processes by pid (nodes run in their own process groups). */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
