/**
 * Test doubles that speak the real protocol to a controller process: a
 * client (publishes requests on the controller topic, waits for the response
 * with its reqid) and agents (say hello, answer each request as the test
 * scripts them).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  API_VERSION, AgentApi, ControllerApi, EventDispatcher, TOPIC_CONTROLLER, anyone, agentTopic, encodeNodeStatus, success,
  type Configuration, type EventSpec, type Result,
} from '../../src/management/index.js';
import { Endpoint, decodeEvent, str, vector, type PeerInfo, type ZeekEvent } from '../../src/protocol/index.js';
import { spawnCli, type Proc } from '../helpers/process.js';
import { AGENT_SECRET_FILE, agentKey, agentSide, readKeyFile, writeKeyFile } from '../../src/management/agent-key.js';

export interface ControllerProc {
  proc: Proc;
  clientPort: number;
  agentPort: number;
  stateDir: string;
}

/** Starts `zeek-mgmt controller` named `ctl` on free ports and reads the ports from its log; its state directory is `<base>/ctl`. */
export async function startControllerProc(base: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ControllerProc> {
  const proc = spawnCli(['controller', '--name', 'ctl', '--client-port', '0', '--agent-port', '0', '--state-dir', base, '--request-timeout', '1', ...extra], { env });
  const m = await proc.waitFor(/clients on 127\.0\.0\.1:(\d+), agents on 127\.0\.0\.1:(\d+)/);
  return { proc, clientPort: Number(m[1]), agentPort: Number(m[2]), stateDir: join(base, 'ctl') };
}

export class TestClient {
  readonly endpoint = new Endpoint();
  /** Every event seen on the controller topic, in order. */
  readonly events: ZeekEvent[] = [];
  private readonly waiters = new Set<() => void>();

  static async connect(port: number): Promise<TestClient> {
    const c = new TestClient();
    c.endpoint.subscribe(TOPIC_CONTROLLER, (d) => {
      try {
        c.events.push(decodeEvent(d.value));
      } catch {
        return;
      }
      for (const w of [...c.waiters]) w();
    });
    await c.endpoint.connect({ host: '127.0.0.1', port, subscriptions: [TOPIC_CONTROLLER], retry: false }).ready();
    return c;
  }

  send(event: ZeekEvent): void {
    this.endpoint.publishEvent(TOPIC_CONTROLLER, event);
  }

  /** Waits for the first event matching `spec` (and `pred`) seen so far or later. */
  waitFor<A extends readonly unknown[]>(spec: EventSpec<A>, pred: (args: A) => boolean = () => true, timeoutMs = 8000): Promise<A> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const e of this.events) {
          if (e.name !== spec.name) continue;
          const args = spec.decode(e);
          if (pred(args)) { done(); resolve(args); return true; }
        }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no ${spec.name} within ${timeoutMs} ms`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(waiter); };
      const waiter = (): void => { check(); };
      this.waiters.add(waiter);
      check();
    });
  }

  /** Sends a request made with a fresh reqid and waits for its response. */
  async request<R extends readonly [string, ...unknown[]]>(make: (reqid: string) => ZeekEvent, response: EventSpec<R>, timeoutMs?: number): Promise<R[1]> {
    const reqid = randomUUID();
    this.send(make(reqid));
    const args = await this.waitFor(response, (a) => a[0] === reqid, timeoutMs);
    return args[1];
  }

  stage(config: Configuration): Promise<Result[]> {
    return this.request((r) => ControllerApi.stageConfiguration.request.make(r, config), ControllerApi.stageConfiguration.response);
  }

  deploy(timeoutMs?: number): Promise<Result[]> {
    return this.request((r) => ControllerApi.deploy.request.make(r), ControllerApi.deploy.response, timeoutMs);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/** What a test agent does with a deploy request: answer (maybe late) or stay silent. */
export type DeployBehaviour = { delayMs?: number; silent?: boolean; results?: (reqid: string, config: Configuration) => Result[] };

export class TestAgent {
  readonly endpoint = new Endpoint();
  readonly received: ZeekEvent[] = [];
  deployBehaviour: DeployBehaviour = {};
  /** Configurations this agent was asked to deploy. */
  readonly deployed: Configuration[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly name: string, private readonly apiVersion = API_VERSION) {
    const topic = agentTopic(name);
    const d = new EventDispatcher([AgentApi], () => undefined, anyone)
      .on(AgentApi.agentWelcome.request, ([reqid]) => this.reply(AgentApi.agentWelcome.response.make(reqid, success(reqid, { instance: name }))))
      .on(AgentApi.agentStandby.request, ([reqid]) => this.reply(AgentApi.agentStandby.response.make(reqid, success(reqid, { instance: name }))))
      .on(AgentApi.deploy.request, ([reqid, config]) => this.onDeploy(reqid, config))
      .on(AgentApi.getNodes.request, ([reqid]) => this.reply(AgentApi.getNodes.response.make(reqid, success(reqid, {
        instance: name,
        data: vector((this.deployed.at(-1)?.nodes ?? []).filter((n) => n.instance === name)
          .map((n) => encodeNodeStatus({ node: n.name, state: 'RUNNING', mgmtRole: 'NONE', clusterRole: n.role, pid: 4242 }))),
      }))))
      .on(AgentApi.nodeDispatch.request, ([reqid, action, nodes]) => this.reply(AgentApi.nodeDispatch.response.make(reqid, this.mine(nodes).map((n) => success(reqid, { instance: name, node: n, data: str(JSON.stringify(action)) })))))
      .on(AgentApi.restart.request, ([reqid, nodes]) => this.reply(AgentApi.restart.response.make(reqid, this.mine(nodes).map((n) => success(reqid, { instance: name, node: n })))));
    this.endpoint.subscribe(topic, (delivery) => {
      try {
        this.received.push(decodeEvent(delivery.value));
      } catch {
        return;
      }
      d.handle(delivery);
    });
    this.endpoint.on('peer-up', (peer: PeerInfo) => this.endpoint.publishEvent(topic, AgentApi.notifyAgentHello.make(name, this.endpoint.id, peer.direction === 'outbound', this.apiVersion), { to: peer.id }));
  }

  /** Dials the controller's agent port once (no retry), proving this agent's key under the controller's secret. */
  async connect(at: { agentPort: number; stateDir: string }): Promise<void> {
    const proof = agentSide(this.name, testAgentKey(at.stateDir, this.name));
    await this.endpoint.connect({ host: '127.0.0.1', port: at.agentPort, subscriptions: [agentTopic(this.name)], retry: false, proof, principal: 'controller' }).ready();
  }

  /** Listens so the controller can dial this instance (which it does proving this agent's key). */
  async listen(at: { stateDir: string }, port = 0): Promise<number> {
    const shared = agentSide(this.name, testAgentKey(at.stateDir, this.name));
    return (await this.endpoint.listen({
      host: '127.0.0.1', port, name: 'controller',
      keyFor: (id) => (id === this.name ? shared : undefined), admit: () => ({ ok: true, principal: 'controller' }),
    })).port;
  }

  count(spec: EventSpec<readonly unknown[]>): number {
    return this.received.filter((e) => e.name === spec.name).length;
  }

  send(event: ZeekEvent): void {
    this.endpoint.publishEvent(agentTopic(this.name), event);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.endpoint.close();
  }

  private mine(nodes: string[]): string[] {
    const own = (this.deployed.at(-1)?.nodes ?? []).filter((n) => n.instance === this.name).map((n) => n.name);
    return nodes.length === 0 ? own : own.filter((n) => nodes.includes(n));
  }

  private onDeploy(reqid: string, config: Configuration): void {
    this.deployed.push(config);
    const b = this.deployBehaviour;
    if (b.silent) return;
    const results = b.results?.(reqid, config)
      ?? config.nodes.filter((n) => n.instance === this.name).map((n) => success(reqid, { instance: this.name, node: n.name }));
    const send = (): void => this.reply(AgentApi.deploy.response.make(reqid, results));
    if (!b.delayMs) return send();
    const t = setTimeout(() => { this.timers.delete(t); send(); }, b.delayMs);
    this.timers.add(t);
  }

  private reply(event: ZeekEvent): void {
    this.send(event);
  }
}

/** The key of agent `name` under the secret a controller made in `stateDir`. */
export function testAgentKey(stateDir: string, name: string): Buffer {
  const secret = readKeyFile(join(stateDir, AGENT_SECRET_FILE));
  if (!secret.ok) throw new Error(secret.error);
  return agentKey(secret.value, name);
}

/** A 0600 key file for agent `name` of the controller in `stateDir`, as `zeek-mgmt agent-key` writes it. */
export function agentKeyFile(stateDir: string, name: string): string {
  const path = join(stateDir, `${name}.key`);
  writeKeyFile(path, testAgentKey(stateDir, name));
  return path;
}
