/**
 * Many protocol-speaking agents in one process, for the fan-out and memory
 * benchmarks: each is its own Endpoint with one session to the controller's
 * agent port, says hello like a real agent, and answers the Agent API
 * (get_nodes with its own NodeStatus, welcome/standby, deploy with one
 * success per node of its instance). Prints `ready N` once all are
 * connected.
 *
 * usage: node fake-agents.js CONTROLLER_AGENT_PORT CONTROLLER_STATE_DIR COUNT [NAME_PREFIX]
 * (each proves its agent key, derived from the controller's agent-secret)
 */
import {
  API_VERSION, AgentApi, EventDispatcher, agentTopic, anyone, encodeNodeStatus, success, type NodeStatus,
} from '../src/management/index.js';
import { Endpoint, vector, type PeerInfo, type ZeekEvent } from '../src/protocol/index.js';
import { AGENT_SECRET_FILE, agentKey, agentSide, readKeyFile } from '../src/management/agent-key.js';
import { join } from 'node:path';

const [portText, stateDir, countText, prefix = 'fake-agent'] = process.argv.slice(2);
const secret = readKeyFile(join(stateDir!, AGENT_SECRET_FILE));
if (!secret.ok) throw new Error(secret.error);
const installationSecret = secret.value;
const port = Number(portText);
const count = Number(countText);

function fakeAgent(name: string, onUp: () => void): Endpoint {
  const topic = agentTopic(name);
  const endpoint = new Endpoint({ id: `${name}-${process.pid}` });
  const reply = (to: PeerInfo, event: ZeekEvent): void => endpoint.publishEvent(topic, event, { to: to.id });
  const self: NodeStatus = { node: name, state: 'RUNNING', mgmtRole: 'AGENT', clusterRole: 'NONE', pid: process.pid };
  const d = new EventDispatcher([AgentApi], (p) => process.stderr.write(`${name}: invalid event ${p.event ?? ''}: ${p.error}\n`), anyone);
  d.on(AgentApi.getNodes.request, ([reqid], from) => {
    reply(from, AgentApi.getNodes.response.make(reqid, success(reqid, { instance: name, data: vector([encodeNodeStatus(self)]) })));
  });
  d.on(AgentApi.agentWelcome.request, ([reqid], from) => reply(from, AgentApi.agentWelcome.response.make(reqid, success(reqid, { instance: name }))));
  d.on(AgentApi.agentStandby.request, ([reqid], from) => reply(from, AgentApi.agentStandby.response.make(reqid, success(reqid, { instance: name }))));
  d.on(AgentApi.deploy.request, ([reqid, config], from) => {
    const mine = config.nodes.filter((n) => n.instance === name);
    const results = mine.length === 0 ? [success(reqid, { instance: name })] : mine.map((n) => success(reqid, { instance: name, node: n.name }));
    reply(from, AgentApi.deploy.response.make(reqid, results));
  });
  endpoint.subscribe(topic, d.handle);
  const link = endpoint.connect({ host: '127.0.0.1', port, subscriptions: [topic], remoteTopics: [topic], retry: { initialMs: 100, maxMs: 1000 },
    proof: agentSide(name, agentKey(installationSecret, name)), principal: 'controller' });
  let first = true;
  link.on('up', (peer) => {
    endpoint.publishEvent(topic, AgentApi.notifyAgentHello.make(name, endpoint.id, true, API_VERSION), { to: peer.id });
    if (first) { first = false; onUp(); }
  });
  return endpoint;
}

let up = 0;
const endpoints: Endpoint[] = [];
for (let i = 0; i < count; i++) {
  endpoints.push(fakeAgent(`${prefix}-${i}`, () => { if (++up === count) process.stdout.write(`ready ${count}\n`); }));
}
const stop = (): void => { void Promise.all(endpoints.map((e) => e.close())).then(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
