/**
 * Plays the controller for agent tests: an Endpoint listening on a free
 * port that the agent dials, speaking the Agent API. Also starts real agent
 * processes and cleans up every node process they launched (nodes run in
 * their own process groups, so killing the agent's group does not reach them).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { controllerSide, writeKeyFile } from '../../src/management/agent-key.js';
import type { SharedKey } from '../../src/protocol/index.js';
import { dirname, join } from 'node:path';
import { Endpoint, type PeerInfo, type ZeekEvent, decodeEvent } from '../../src/protocol/index.js';
import {
  AgentApi, TOPIC_AGENT_PREFIX, agentTopic, decodeNodeOutputs, decodeNodeStatus, readList,
  type Configuration, type EventSpec, type Node, type NodeStatus, type Result, type State,
} from '../../src/management/index.js';
import { findByEnv } from '../../src/management/procfs.js';
import type { Agent } from '../../src/agent/main.js';
import { NODE_DIR_ENV } from '../../src/agent/process-identity.js';
import { eventually, freePort, removeTempDirs, spawnCli, stopAll, tempDir, type Proc } from '../helpers/process.js';

export interface Received { event: ZeekEvent; from: PeerInfo }

export class FakeController {
  readonly events: Received[] = [];
  private counter = 0;

  private constructor(readonly endpoint: Endpoint, readonly port: number) {}

  static async start(port = 0): Promise<FakeController> {
    const endpoint = new Endpoint();
    const bound = await endpoint.listen({
      host: '127.0.0.1', port, keyFor: (id) => controllerSide(id, TEST_AGENT_KEY),
      admit: (c) => (c.keyId ? { ok: true, principal: `agent:${c.keyId}` } : { ok: false, error: 'agents prove their key' }),
    });
    const c = new FakeController(endpoint, bound.port);
    own({ controller: c });
    endpoint.subscribe(TOPIC_AGENT_PREFIX, (d) => {
      try {
        c.events.push({ event: decodeEvent(d.value), from: d.from });
      } catch {
        // not an event
      }
    });
    return c;
  }

  /** Waits for the nth hello from this agent (counting from 1). */
  async hello(agent: string, nth = 1, timeoutMs = 15000): Promise<{ peer: PeerInfo; args: [string, string, boolean, number] }> {
    const found = await eventually(() => {
      const hellos = this.events.filter((e) => e.event.name === AgentApi.notifyAgentHello.name && AgentApi.notifyAgentHello.decode(e.event)[0] === agent);
      return hellos[nth - 1];
    }, timeoutMs);
    return { peer: found.from, args: AgentApi.notifyAgentHello.decode(found.event) };
  }

  notifications<A extends readonly unknown[]>(spec: EventSpec<A>): A[] {
    return this.events.filter((e) => e.event.name === spec.name).map((e) => spec.decode(e.event));
  }

  /** Sends a request to the peer and waits for the response with the same reqid. */
  async request<Req extends readonly unknown[], Res extends readonly unknown[]>(
    peer: PeerInfo, agent: string, spec: EventSpec<[string, ...Req]>, response: EventSpec<Res>, args: Req, timeoutMs = 20000,
  ): Promise<Res> {
    const reqid = `test-${++this.counter}`;
    this.endpoint.publishEvent(agentTopic(agent), spec.make(reqid, ...args), { to: peer.id });
    return this.awaitResponse(reqid, response, timeoutMs);
  }

  async awaitResponse<Res extends readonly unknown[]>(reqid: string, response: EventSpec<Res>, timeoutMs = 20000): Promise<Res> {
    const found = await eventually(() => this.events.find((e) => e.event.name === response.name && e.event.args[0]?.type === 'string' && e.event.args[0].value === reqid), timeoutMs);
    return response.decode(found.event);
  }

  nextReqid(): string {
    return `test-${++this.counter}`;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

export const AGENT = 'agent-test';

/** The key every test agent holds (and the fake controller proves), and a 0600 file with it for agent processes. */
export const TEST_AGENT_KEY = randomBytes(32);
let keyFile: string | undefined;
export function testKeyFile(): string {
  if (!keyFile) {
    keyFile = join(tempDir('zeek-mgmt-key-'), 'agent.key');
    writeKeyFile(keyFile, TEST_AGENT_KEY);
  }
  return keyFile;
}

/** What a controller proves when it dials a test agent. */
export const controllerProof = (name = AGENT): { proof: SharedKey; principal: string } => ({ proof: controllerSide(name, TEST_AGENT_KEY), principal: 'controller' });

export function node(name: string, role: Node['role'], extra: Partial<Node> = {}): Node {
  return { name, instance: AGENT, role, state: 'PENDING', env: {}, ...extra };
}

export function configuration(id: string, nodes: Node[], cluster?: Configuration['cluster']): Configuration {
  return { id, instances: [{ name: AGENT, host: '127.0.0.1' }], nodes, ...(cluster ? { cluster } : {}) };
}

/** A fresh agent state directory, `<temp base>/<AGENT>`, made (the agent's --state-dir is its parent). */
export function agentStateDir(): string {
  const dir = join(tempDir('zeek-mgmt-agent-'), AGENT);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface AgentProc {
  proc: Proc;
  stateDir: string;
}

/** An agent process; its state directory is `<base>/<name>`, so `stateDir` (made when not given) ends in the agent's name. */
export function spawnAgent(controllerPort: number, stateDir = agentStateDir(), extra: string[] = []): AgentProc {
  own({ stateDir });
  const proc = spawnCli([
    'agent', '--name', AGENT, '--listen-port', '0', '--controller', `127.0.0.1:${controllerPort}`,
    '--state-dir', dirname(stateDir), '--runtime', 'sim', '--node-timeout', '4', '--stop-grace', '1', '--key-file', testKeyFile(), ...extra,
  ]);
  return { proc, stateDir };
}

/** Node statuses of a get_nodes response. */
export function statuses(result: Result): NodeStatus[] {
  return readList(result.data, 'data', 'vector').map((v, i) => decodeNodeStatus(v, `data[${i}]`));
}

export async function getNodes(c: FakeController, peer: PeerInfo): Promise<Map<string, NodeStatus>> {
  const [, result] = await c.request(peer, AGENT, AgentApi.getNodes.request, AgentApi.getNodes.response, []);
  return new Map(statuses(result).map((s) => [s.node, s]));
}

/** Waits until every named node is in `state`; returns the statuses. */
export async function waitForStates(c: FakeController, peer: PeerInfo, names: string[], state: State, timeoutMs = 15000): Promise<Map<string, NodeStatus>> {
  let last = new Map<string, NodeStatus>();
  try {
    return await eventually(async () => {
      last = await getNodes(c, peer);
      return names.every((n) => last.get(n)?.state === state) ? last : undefined;
    }, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last states: ${JSON.stringify([...last.values()].map((s) => [s.node, s.state, s.pid]))}`);
  }
}

export function outputsOf(result: Result): { stdout: string; stderr: string } | undefined {
  return result.data ? decodeNodeOutputs(result.data, 'data') : undefined;
}

/** Live node processes launched under this state directory. */
export function nodeProcesses(stateDir: string): number[] {
  const prefix = join(stateDir, 'nodes') + '/';
  return findByEnv(NODE_DIR_ENV, (v) => v.startsWith(prefix)).map((p) => p.pid);
}

export function killNodeProcesses(stateDir: string): void {
  for (const pid of nodeProcesses(stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function readPid(stateDir: string, nodeName: string): number {
  return (JSON.parse(readFileSync(join(stateDir, 'nodes', nodeName, 'pid.json'), 'utf8')) as { pid: number }).pid;
}

export { freePort };

const ownedDirs = new Set<string>();
const ownedControllers = new Set<FakeController>();
const ownedPids = new Set<number>();
const ownedAgents = new Set<Agent>();

/** Registers what a test started, for `cleanup()`. */
export function own(what: { stateDir?: string; controller?: FakeController; pid?: number; agent?: Agent }): void {
  if (what.agent) ownedAgents.add(what.agent);
  if (what.stateDir) ownedDirs.add(what.stateDir);
  if (what.controller) ownedControllers.add(what.controller);
  if (what.pid) ownedPids.add(what.pid);
}

/** Stops agents, node processes, stray test processes and controllers; removes temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...ownedAgents].map((a) => a.close({ stopNodes: true })));
  ownedAgents.clear();
  await stopAll();
  for (const dir of ownedDirs) killNodeProcesses(dir);
  for (const pid of ownedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await Promise.all([...ownedControllers].map((c) => c.close()));
  ownedDirs.clear();
  ownedControllers.clear();
  ownedPids.clear();
  removeTempDirs();
}
