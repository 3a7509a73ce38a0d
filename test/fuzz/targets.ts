/**
 * The daemons the fuzzer attacks, as real processes: a controller (client
 * and agent ports) with a staged configuration, an agent (its listener for
 * controllers), and a simulated node (its management port). `unchanged()`
 * checks afterwards that every process lives and nothing stored changed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerApi, TOPIC_AGENT_PREFIX, TOPIC_CONTROLLER, agentTopic, nodeTopic, decodeConfiguration, type Configuration } from '../../src/management/index.js';
import { buildClusterLayout } from '../../src/management/cluster-layout.js';
import { loadAgentState } from '../../src/agent/state-store.js';
import { SIM_SCRIPT } from '../../src/agent/runtimes/sim.js';
import { freePort, pidAlive, spawnCli, spawnProc, tempDir, type Proc } from '../helpers/process.js';
import { startControllerProc, testAgentKey, TestClient } from '../controller/harness.js';
import { agentSide } from '../../src/management/agent-key.js';
import { controllerProof, testKeyFile } from '../agent/harness.js';
import { ENTRY_APIS, handshakeArb, messageArb } from './frames.js';
import type { FuzzTarget } from './fuzz.js';

const STAGED: Configuration = {
  id: 'fuzz-staged',
  instances: [{ name: 'agent-fuzz', host: '127.0.0.1' }],
  nodes: [{ name: 'manager', instance: 'agent-fuzz', role: 'MANAGER', state: 'RUNNING', env: { KEEP: 'me' } }],
};

export interface Targets {
  targets: FuzzTarget[];
  /** Every daemon alive, the staged configuration and the agent's stored one as they were. */
  unchanged(): Promise<void>;
  close(): Promise<void>;
}

export async function startTargets(): Promise<Targets> {
  const procs: Proc[] = [];
  const clients: TestClient[] = [];
  const ctl = await startControllerProc(tempDir(), ['--request-timeout', '2']);
  procs.push(ctl.proc);
  const client = await TestClient.connect(ctl.clientPort);
  clients.push(client);
  assert.equal((await client.stage(STAGED))[0]!.success, true);
  const staged = async (): Promise<Configuration> => {
    const r = await client.request((id) => ControllerApi.getConfiguration.request.make(id, false), ControllerApi.getConfiguration.response);
    return decodeConfiguration(r.data!, 'staged');
  };
  const stagedBefore = await staged();

  const agentDir = tempDir('zeek-mgmt-fuzz-agent-');
  const agent = spawnCli(['agent', '--name', 'agent-fuzz', '--key-file', testKeyFile(), '--runtime', 'sim', '--listen-port', '0', '--no-connect', '--state-dir', agentDir]);
  procs.push(agent);
  const agentPort = Number((await agent.waitFor(/agent-fuzz listening on 127\.0\.0\.1:(\d+)/))[1]);

  const nodeDir = tempDir('zeek-mgmt-fuzz-node-');
  writeFileSync(join(nodeDir, 'cluster-layout.json'), JSON.stringify(buildClusterLayout({ ...STAGED, nodes: [{ ...STAGED.nodes[0]!, port: { number: await freePort(), protocol: 'tcp' } }] })));
  const nodePort = await freePort();
  const node = spawnProc(process.execPath, [SIM_SCRIPT, '--layout', 'cluster-layout.json'], {
    cwd: nodeDir, env: { CLUSTER_NODE: 'manager', ZEEK_MGMT_NODE_PORT: String(nodePort), ZEEK_MANAGEMENT_SPOOL_DIR: nodeDir },
  });
  procs.push(node);
  await node.waitFor(/node manager \(manager\) is live/);

  const targets: FuzzTarget[] = [
    { name: 'controller handshake', pid: ctl.proc.pid, port: ctl.clientPort, mode: 'handshake', frames: handshakeArb },
    { name: 'controller client port', pid: ctl.proc.pid, port: ctl.clientPort, mode: 'messages', handshake: JSON.stringify([TOPIC_CONTROLLER]), frames: messageArb(TOPIC_CONTROLLER, ENTRY_APIS.client) },
    // As a compromised agent would: proving its key, then anything on and off its own topic.
    { name: 'controller agent port', pid: ctl.proc.pid, port: ctl.agentPort, mode: 'messages', handshake: JSON.stringify([TOPIC_AGENT_PREFIX]), frames: messageArb(TOPIC_AGENT_PREFIX, ENTRY_APIS.agent),
      proof: agentSide('agent-fuzz', testAgentKey(ctl.stateDir, 'agent-fuzz')) },
    { name: 'agent handshake', pid: agent.pid, port: agentPort, mode: 'handshake', frames: handshakeArb, proof: controllerProof('agent-fuzz').proof },
    // As a controller holding the agent's key would.
    { name: 'agent listener', pid: agent.pid, port: agentPort, mode: 'messages', handshake: JSON.stringify([agentTopic('agent-fuzz')]), frames: messageArb(agentTopic('agent-fuzz'), ENTRY_APIS.agent),
      proof: controllerProof('agent-fuzz').proof },
    { name: 'node management port', pid: node.pid, port: nodePort, mode: 'messages', handshake: JSON.stringify([nodeTopic('manager')]), frames: messageArb(nodeTopic('manager').slice(0, -1), ENTRY_APIS.node) },
  ];
  return {
    targets,
    async unchanged() {
      for (const p of procs) assert.ok(pidAlive(p.pid), `process ${p.pid} is alive`);
      assert.deepEqual(await staged(), stagedBefore, 'the staged configuration is as it was');
      assert.equal(loadAgentState(agentDir).configuration?.id, undefined, 'the agent stores no configuration');
    },
    async close() {
      for (const c of clients) await c.close();
      await Promise.all(procs.map((p) => p.stop(1000)));
    },
  };
}
