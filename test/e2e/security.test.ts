/**
 * The attacks of issue 13, each tried against real processes over real
 * sockets with real certificates (openssl, made here): TLS on every link,
 * verification by our client and by the unmodified zeek-client, tokens and
 * roles, impostor agents, local processes commanding an agent, foreign
 * Origins, binding off loopback, certificates re-read on SIGHUP.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentApi, ControllerApi, TOPIC_CONTROLLER, agentTopic } from '../../src/management/index.js';
import { Endpoint, KeyProof, encodeData, encodeEvent } from '../../src/protocol/index.js';
import { WebSocket, WebSocketServer as WsServer } from '../../src/protocol/ws.js';
import { TestCa } from '../helpers/certs.js';
import { eventually, freePort, removeTempDirs, runCli, spawnCli, spawnProc, stopAll, tempDir } from '../helpers/process.js';
import { agentKeyFile, startControllerProc, testAgentKey, TestClient } from '../controller/harness.js';
import { agentSide, controllerSide } from '../../src/management/agent-key.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const ZEEK_CLIENT = process.env.ZEEK_CLIENT ?? '/opt/zeek-client/zeek-client';
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

const ca = new TestCa();
const server = ca.issue('controller');
const clientCert = ca.issue('alice', { passphrase: 'open sesame' });
const viewerCert = ca.issue('grafana');
const expired = ca.issue('old', { days: -1 });
const otherCa = new TestCa(undefined, 'other-ca');
const forged = otherCa.issue('controller');

const cleanEnv = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '', ZEEK_MGMT_TOKEN: '' };
const tlsFlags = (pair = server, withCa = true): string[] => ['--tls-cert', pair.cert, '--tls-key', pair.key, ...(withCa ? ['--tls-ca', ca.cert] : [])];

/** Our client, one command. */
function client(port: number, sets: string[], args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> {
  return runCli(['--controller', `127.0.0.1:${port}`, '--set', 'client.peering_attempts=1', ...sets.flatMap((s) => ['--set', s]), ...args], { env: { ...cleanEnv, ...env } });
}

/** The unmodified zeek-client, one command. */
async function zeekClient(port: number, sets: string[], args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = spawnProc('/usr/bin/python3', [ZEEK_CLIENT, '--controller', `127.0.0.1:${port}`, '--set', 'client.peering_attempts=2',
    '--set', 'client.request_timeout_secs=10', ...sets.flatMap((s) => ['--set', s]), ...args], { env: cleanEnv });
  const code = await proc.exited();
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

function writeSecret(text: string): string {
  const path = join(tempDir('zeek-mgmt-auth-'), 'file');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** Opens a raw WebSocket handshake; resolves with the HTTP status of a refusal, or 101. */
function handshakeStatus(port: number, headers: Record<string, string>, secure = false, protocols: string[] = []): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/v1/messages/json`, protocols, { headers, ...(secure ? { ca: readFileSync(ca.cert) } : {}) });
    ws.once('open', () => { resolve(ws.protocol === (protocols[0] ?? '') ? 101 : -1); ws.terminate(); });
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.once('error', () => resolve(0));
  });
}

describe('TLS on every link', () => {
  test('client ↔ controller ↔ agents (an agent that dials in, one the controller dials) over TLS; deploy and get-nodes work', async () => {
    const dir = tempDir();
    const ports = ['--port-start', String(await freePort()), '--metrics-port-start', String(await freePort())];
    const ctl = await startControllerProc(join(dir, 'ctl'), [...tlsFlags(), '--request-timeout', '15', ...ports]);
    const dialledPort = await freePort();
    const common = ['--runtime', 'sim', '--node-timeout', '8', '--stop-grace', '1', ...tlsFlags(ca.issue('agents'))];
    spawnCli(['agent', '--name', 'agent-in', '--no-listen', '--controller', `127.0.0.1:${ctl.agentPort}`, '--state-dir', join(dir, 'in'),
      '--key-file', agentKeyFile(ctl.stateDir, 'agent-in'), ...common]);
    const dialled = spawnCli(['agent', '--name', 'agent-out', '--no-connect', '--listen-port', String(dialledPort), '--state-dir', join(dir, 'out'),
      '--key-file', agentKeyFile(ctl.stateDir, 'agent-out'), ...common]);
    await dialled.waitFor(/listening on 127\.0\.0\.1/);
    const ini = join(dir, 'cluster.ini');
    writeFileSync(ini, `[instances]\nagent-in\nagent-out = 127.0.0.1:${dialledPort}\n\n[manager]\nrole = manager\ninstance = agent-in\n\n[worker-1]\nrole = worker\ninstance = agent-out\ninterface = lo\n`);
    const sets = ['ssl.enable=true', `ssl.cafile=${ca.cert}`, 'client.request_timeout_secs=30'];
    await eventually(async () => JSON.parse((await client(ctl.clientPort, sets, ['get-instances'])).stdout || '{}')['agent-in'], 15000, 200);
    const deployed = await client(ctl.clientPort, sets, ['deploy-config', ini]);
    assert.equal(deployed.code, 0, deployed.stderr + deployed.stdout);
    const nodes = JSON.parse((await client(ctl.clientPort, sets, ['get-nodes'])).stdout) as { results: Record<string, Record<string, { state: string }>> };
    assert.equal(nodes.results['agent-in']?.manager?.state, 'RUNNING');
    assert.equal(nodes.results['agent-out']?.['worker-1']?.state, 'RUNNING');
    // Plaintext on the TLS ports is refused.
    assert.equal(await handshakeStatus(ctl.clientPort, {}), 0);
    assert.equal((await client(ctl.clientPort, [], ['get-instances'])).code, 1);
  });

  test('our client refuses a server whose CA it does not trust, with ssl.enable alone, with a certificate but no CA, and with the wrong capath; the right CA or capath works', async () => {
    const ctl = await startControllerProc(tempDir(), tlsFlags(forged, false));
    const capath = tempDir('zeek-mgmt-capath-');
    copyFileSync(ca.cert, join(capath, 'ca.pem'));
    const refusals = [
      ['ssl.enable=true'],
      ['ssl.enable=true', `ssl.certificate=${viewerCert.cert}`, `ssl.keyfile=${viewerCert.key}`],
      ['ssl.enable=true', `ssl.capath=${capath}`],
      ['ssl.enable=true', `ssl.cafile=${ca.cert}`],
    ];
    for (const sets of refusals) {
      const r = await client(ctl.clientPort, sets, ['get-instances']);
      assert.equal(r.code, 1, `refused with ${sets.join(' ')}`);
      assert.match(r.stderr, /TLS error with controller 127\.0\.0\.1:\d+: .*(self.signed|unable to (get|verify)|UNABLE_TO)/i, sets.join(' '));
    }
    const otherPath = tempDir('zeek-mgmt-capath-');
    copyFileSync(otherCa.cert, join(otherPath, 'other.pem'));
    assert.equal((await client(ctl.clientPort, ['ssl.enable=true', `ssl.capath=${otherPath}`], ['get-instances'])).code, 0, 'the CA from ssl.capath is trusted');
    assert.equal((await client(ctl.clientPort, ['ssl.enable=true', `ssl.cafile=${otherCa.cert}`], ['get-instances'])).code, 0, 'the CA from ssl.cafile is trusted');
    const extra = await client(ctl.clientPort, ['ssl.enable=true'], ['get-instances'], { NODE_EXTRA_CA_CERTS: otherCa.cert });
    assert.equal(extra.code, 0, `the operator's NODE_EXTRA_CA_CERTS counts as a system CA: ${extra.stderr}`);
    // zeek-client refuses the same server once it verifies (a certificate given, no CA): as we do.
    const zc = await zeekClient(ctl.clientPort, ['ssl.enable=true', `ssl.certificate=${viewerCert.cert}`, `ssl.keyfile=${viewerCert.key}`], ['get-instances']);
    assert.notEqual(zc.code, 0);
    assert.match(zc.stderr, /CERTIFICATE_VERIFY_FAILED/);
  });

  test('a server certificate for another name, and an expired one, are refused', async () => {
    const wrongName = await startControllerProc(tempDir(), tlsFlags(ca.issue('elsewhere', { san: ['DNS:elsewhere.example'] }), false));
    const r = await client(wrongName.clientPort, ['ssl.enable=true', `ssl.cafile=${ca.cert}`], ['get-instances']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ALTNAME|does not match|not in the cert/i);
    const old = await startControllerProc(tempDir(), tlsFlags(expired, false));
    await old.proc.waitFor(/expired on/);
    const e = await client(old.clientPort, ['ssl.enable=true', `ssl.cafile=${ca.cert}`], ['get-instances']);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /CERT_HAS_EXPIRED|expired/);
  });

  test('mutual TLS: the unmodified zeek-client with ssl.enable, CA, client certificate, key and passphrase works command for command; a client certificate from another CA or an expired one is refused', async () => {
    const ctl = await startControllerProc(tempDir(), [...tlsFlags(), '--require-auth']);
    const mtls = ['ssl.enable=true', `ssl.cafile=${ca.cert}`, `ssl.certificate=${clientCert.cert}`, `ssl.keyfile=${clientCert.key}`, 'ssl.passphrase=open sesame'];
    const instances = await zeekClient(ctl.clientPort, mtls, ['get-instances']);
    assert.equal(instances.code, 0, instances.stderr);
    assert.deepEqual(JSON.parse(instances.stdout), {});
    const staged = await zeekClient(ctl.clientPort, mtls, ['stage-config', MINI]);
    assert.equal(staged.code, 0, staged.stderr);
    const config = await zeekClient(ctl.clientPort, mtls, ['get-config']);
    assert.match(config.stdout, /\[manager\]/);
    const ours = await client(ctl.clientPort, mtls, ['get-config']);
    assert.equal(ours.stdout, config.stdout, 'our client sees the same over mutual TLS');
    // ssl.enable alone (Broker's unverified mode) still connects, as against the original; here --require-auth wants credentials.
    const bare = await zeekClient(ctl.clientPort, ['ssl.enable=true'], ['get-instances']);
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr, /403|authentication required/);
    const foreign = otherCa.issue('mallory');
    for (const pair of [foreign, expired]) {
      const r = await client(ctl.clientPort, ['ssl.enable=true', `ssl.cafile=${ca.cert}`, `ssl.certificate=${pair.cert}`, `ssl.keyfile=${pair.key}`], ['get-instances']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused the handshake: 403 client certificate refused: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERT_HAS_EXPIRED)/);
    }
  });

  test('zeek-client with ssl.enable alone works against a TLS controller on loopback, as against the original', async () => {
    const ctl = await startControllerProc(tempDir(), tlsFlags(server, false));
    const r = await zeekClient(ctl.clientPort, ['ssl.enable=true'], ['get-instances']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {});
  });
});

describe('authentication and roles', () => {
  const operatorToken = 'op-5b0b1c6f2e9a4d7c8e1f';
  const viewerToken = 'view-93c2d4e5f6a7b8c9d0e1';

  test('tokens: accepted and refused; a viewer reads but its deploy is refused and changes nothing; a listed certificate gets its role', async () => {
    const auth = writeSecret(`# who\noperator token:${operatorToken}\nviewer  token:${viewerToken}\nviewer  cert:grafana\n`);
    const ctl = await startControllerProc(tempDir(), [...tlsFlags(), '--auth-file', auth, '--require-auth']);
    const tls = ['ssl.enable=true', `ssl.cafile=${ca.cert}`];
    const none = await client(ctl.clientPort, tls, ['get-instances']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /refused the handshake: 403 authentication required \(--require-auth\)/);
    const wrong = await client(ctl.clientPort, [...tls, 'auth.token=not-a-known-token-at-all'], ['get-instances']);
    assert.match(wrong.stderr, /403 unknown token/);

    const tokenFile = writeSecret(`${viewerToken}\n`);
    const viewer = [...tls, `auth.token_file=${tokenFile}`];
    assert.equal((await client(ctl.clientPort, viewer, ['get-instances'])).code, 0);
    const stage = await client(ctl.clientPort, viewer, ['deploy-config', MINI]);
    assert.equal(stage.code, 1);
    assert.match(stage.stdout + stage.stderr, /not authorised: stage_configuration_request needs the operator role; this session has role viewer/);
    const certViewer = [...tls, `ssl.certificate=${viewerCert.cert}`, `ssl.keyfile=${viewerCert.key}`];
    assert.match((await client(ctl.clientPort, certViewer, ['deploy'])).stdout, /not authorised: deploy_request needs the operator role/);

    // A browser (a dashboard) sends its token as a subprotocol and gets `zeek-mgmt` back.
    assert.equal(await handshakeStatus(ctl.clientPort, {}, true, ['zeek-mgmt', `bearer.${viewerToken}`]), 101);
    assert.equal(await handshakeStatus(ctl.clientPort, {}, true, ['zeek-mgmt', 'bearer.wrong-token-0123456789']), 403);

    const operator = await client(ctl.clientPort, [...tls, `auth.token=${operatorToken}`], ['get-config']);
    assert.equal(operator.code, 1);
    assert.match(operator.stderr + operator.stdout, /no staged configuration available/, 'the viewer staged nothing');
    assert.equal((await client(ctl.clientPort, [...tls, `auth.token=${operatorToken}`], ['stage-config', MINI])).code, 0);
  });

  test('the HTTP routes (Prometheus discovery and metrics) admit whom a session would: no token 401, an unknown one 403, viewer and operator tokens 200, a foreign Origin 403', async () => {
    const auth = writeSecret(`operator token:${operatorToken}\nviewer token:${viewerToken}\n`);
    const ctl = await startControllerProc(tempDir(), ['--auth-file', auth, '--require-auth']);
    const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; challenge: string | null }> => {
      const res = await fetch(`http://127.0.0.1:${ctl.clientPort}${path}`, { headers });
      return { status: res.status, text: await res.text(), challenge: res.headers.get('www-authenticate') };
    };
    const anonymous = await get('/metrics');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.text, /authentication required \(--require-auth\)/);
    assert.match(anonymous.challenge ?? '', /^Bearer/);
    assert.equal((await get('/metrics', { authorization: 'Bearer not-a-known-token-at-all' })).status, 403);
    assert.equal((await get('/metrics', { authorization: 'Basic abc' })).status, 401);
    const viewer = await get('/metrics', { authorization: `Bearer ${viewerToken}` });
    assert.equal(viewer.status, 200);
    assert.match(viewer.text, /^# HELP zeek_mgmt_/m);
    const services = await get('/services.json', { authorization: `Bearer ${operatorToken}` });
    assert.equal(services.status, 200);
    assert.deepEqual(JSON.parse(services.text), []);
    assert.equal((await get('/metrics', { authorization: `Bearer ${viewerToken}`, origin: 'http://evil.example' })).status, 403);
    // Without --require-auth, loopback is open as for sessions.
    const open = await startControllerProc(tempDir());
    assert.equal((await fetch(`http://127.0.0.1:${open.clientPort}/metrics`)).status, 200);
  });

  test('on loopback, zeek-client needs no credentials unless --require-auth', async () => {
    const open = await startControllerProc(tempDir());
    assert.equal((await zeekClient(open.clientPort, [], ['get-instances'])).code, 0);
    const closed = await startControllerProc(tempDir(), ['--require-auth']);
    const r = await zeekClient(closed.clientPort, [], ['get-instances']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /403/);
  });
});

describe('agents', () => {
  test('an impostor agent is refused: no key, or a key for another name; the real agent keeps its session', async () => {
    const dir = tempDir();
    const ctl = await startControllerProc(join(dir, 'ctl'));
    const real = spawnCli(['agent', '--name', 'agent-real', '--no-listen', '--controller', `127.0.0.1:${ctl.agentPort}`, '--state-dir', join(dir, 'a'),
      '--runtime', 'sim', '--key-file', agentKeyFile(ctl.stateDir, 'agent-real')]);
    closers.push(() => real.stop());
    const watcher = await TestClient.connect(ctl.clientPort);
    closers.push(() => watcher.close());
    await ctl.proc.waitFor(/instance agent-real newly checked in/);

    assert.equal(await handshakeStatus(ctl.agentPort, {}), 403, 'no key proof');
    // A key of its own (agent-mallory) but a hello as agent-real: refused and dropped.
    const impostor = new Endpoint();
    closers.push(() => impostor.close());
    const topic = agentTopic('agent-mallory');
    const link = impostor.connect({ host: '127.0.0.1', port: ctl.agentPort, subscriptions: [topic], retry: false,
      proof: agentSide('agent-mallory', testAgentKey(ctl.stateDir, 'agent-mallory')) });
    const peer = await link.ready();
    impostor.publishEvent(topic, AgentApi.notifyAgentHello.make('agent-real', 'evil', true, 1), { to: peer.id });
    await ctl.proc.waitFor(/refused a hello as instance agent-real from a session proven as agent:agent-mallory/);
    // And on agent-real's own topic: refused by the session's publish rights.
    const wrongKey = new Endpoint();
    closers.push(() => wrongKey.close());
    const failed = wrongKey.connect({ host: '127.0.0.1', port: ctl.agentPort, subscriptions: [agentTopic('agent-real')], retry: false,
      proof: agentSide('agent-real', testAgentKey(ctl.stateDir, 'agent-mallory')) });
    await assert.rejects(failed.ready(), /not the peer we meant to reach: the server's proof of the key for agent-real is wrong/);

    const instances = await watcher.request((r) => ControllerApi.getInstances.request.make(r), ControllerApi.getInstances.response);
    assert.equal(instances.success, true);
    assert.deepEqual((instances.data?.type === 'vector' ? instances.data.value : []).length, 1);
    assert.doesNotMatch(ctl.proc.stderr() + ctl.proc.stdout(), /instance agent-real (checked in as a new agent process|disconnected)/);
  });

  test('a local process cannot command the agent: no key or a wrong key on its port is refused, and the agent obeys no controller that cannot prove its key', async () => {
    const dir = tempDir();
    const port = await freePort();
    const squatter = new Endpoint();
    closers.push(() => squatter.close());
    const seen: string[] = [];
    squatter.subscribe('', (d) => seen.push(d.topic));
    const squatted = await squatter.listen({ host: '127.0.0.1', port: 0 });
    const key = writeSecret('c3VwZXItc2VjcmV0LWFnZW50LWtleS0xMjM0NTY3OA\n');
    const agent = spawnCli(['agent', '--name', 'agent-x', '--listen-port', String(port), '--controller', `127.0.0.1:${squatted.port}`,
      '--state-dir', join(dir, 'a'), '--runtime', 'sim', '--key-file', key]);
    closers.push(() => agent.stop());
    await agent.waitFor(/controller unreachable; retrying.*no shared key|did not prove the shared key|server refused the session: 403/);
    assert.deepEqual(seen, [], 'the agent said nothing to a controller that could not prove its key');
    await agent.waitFor(/listening on 127\.0\.0\.1/);
    assert.equal(await handshakeStatus(port, {}), 403, 'no key proof');
    const local = new Endpoint();
    closers.push(() => local.close());
    const link = local.connect({ host: '127.0.0.1', port, subscriptions: [agentTopic('agent-x')], retry: false, proof: controllerSide('agent-x', Buffer.alloc(32, 7)) });
    await assert.rejects(link.ready(), /proof of the key for agent-x is wrong/);
  });

  test('a process squatting the controller\'s port cannot relay the agent\'s own listener proof back to the agent\'s dial, nor the agent\'s dial proof to its listener', async () => {
    const dir = tempDir();
    const listenPort = await freePort();
    const key = writeSecret('c3VwZXItc2VjcmV0LWFnZW50LWtleS0xMjM0NTY3OA\n');
    // The squatter answers the agent's dial with what the agent's own listener says to the same nonce.
    const relayed: { listenerSaid?: string; acked: boolean } = { acked: false };
    const squat = createServer();
    const wss = new WsServer({ noServer: true });
    squat.on('upgrade', (req, socket, head) => {
      const toListener = new WebSocket(`ws://127.0.0.1:${listenPort}/v1/messages/json`, {
        headers: { [KeyProof.idHeader]: String(req.headers[KeyProof.idHeader]), [KeyProof.nonceHeader]: String(req.headers[KeyProof.nonceHeader]) },
      });
      closers.push(async () => { toListener.terminate(); });
      toListener.on('error', () => undefined);
      toListener.on('message', (m) => { if (String(m).includes('"ack"')) relayed.acked = true; });
      toListener.once('upgrade', (res) => {
        relayed.listenerSaid = String(res.headers[KeyProof.proofHeader]);
        wss.once('headers', (h) => h.push(`${KeyProof.nonceHeader}: ${String(res.headers[KeyProof.nonceHeader])}`, `${KeyProof.proofHeader}: ${relayed.listenerSaid}`));
        wss.handleUpgrade(req, socket, head, (fromAgent) => {
          // Whatever the agent's dial sends (its proof, then its handshake) goes on to its listener.
          fromAgent.on('message', (m) => { if (toListener.readyState === toListener.OPEN) toListener.send(String(m)); });
        });
      });
    });
    await new Promise<void>((resolve) => squat.listen(0, '127.0.0.1', resolve));
    closers.push(async () => { squat.close(); wss.close(); });
    const agent = spawnCli(['agent', '--name', 'agent-x', '--listen-port', String(listenPort), '--controller', `127.0.0.1:${(squat.address() as AddressInfo).port}`,
      '--state-dir', join(dir, 'a'), '--runtime', 'sim', '--key-file', key]);
    closers.push(() => agent.stop());
    await agent.waitFor(/the server's proof of the key for agent-x is wrong/, 15000);
    assert.ok(relayed.listenerSaid, 'the squatter did get a proof from the agent\'s listener to relay');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(relayed.acked, false, 'the agent\'s listener admitted nobody');
  });
});

describe('exposure', () => {
  test('a foreign Origin is refused; zeek-client\'s own origin and an allowed one are not', async () => {
    const ctl = await startControllerProc(tempDir(), ['--allow-origin', 'https://dashboard.example']);
    assert.equal(await handshakeStatus(ctl.clientPort, { origin: 'http://evil.example' }), 403);
    assert.equal(await handshakeStatus(ctl.clientPort, { origin: `http://evil.example:${ctl.clientPort}`, host: `evil.example:${ctl.clientPort}` }), 403, 'DNS re-binding');
    assert.equal(await handshakeStatus(ctl.clientPort, { origin: `http://127.0.0.1:${ctl.clientPort}` }), 101);
    assert.equal(await handshakeStatus(ctl.clientPort, { origin: 'https://dashboard.example' }), 101);
    assert.equal((await zeekClient(ctl.clientPort, [], ['get-instances'])).code, 0);
  });

  test('binding off loopback without TLS is refused unless --insecure, which warns at start', async () => {
    const c = await runCli(['controller', '--client-address', '0.0.0.0', '--client-port', '0', '--agent-port', '0', '--state-dir', tempDir()]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /refusing to listen for clients on 0\.0\.0\.0 without TLS/);
    const a = await runCli(['agent', '--listen-address', '0.0.0.0', '--state-dir', tempDir(), '--key-file', writeSecret('c3VwZXItc2VjcmV0LWFnZW50LWtleS0xMjM0NTY3OA\n')]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /refusing to listen for controllers on 0\.0\.0\.0 without TLS/);
    const insecure = spawnCli(['controller', '--client-address', '0.0.0.0', '--client-port', '0', '--agent-port', '0', '--state-dir', tempDir(), '--insecure']);
    closers.push(() => insecure.stop());
    await insecure.waitFor(/running with --insecure/);
    const withTls = spawnCli(['controller', '--client-address', '0.0.0.0', '--client-port', '0', '--agent-port', '0', '--state-dir', tempDir(), ...tlsFlags()]);
    closers.push(() => withTls.stop());
    await withTls.waitFor(/controller is live/);
    assert.doesNotMatch(withTls.stderr(), /--insecure/, 'with TLS it starts without a warning');
  });

  test('certificates are re-read on SIGHUP; established sessions stay up', async () => {
    const dir = tempDir();
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    copyFileSync(server.cert, certPath);
    copyFileSync(server.key, keyPath);
    const ctl = await startControllerProc(join(dir, 'ctl'), ['--tls-cert', certPath, '--tls-key', keyPath]);
    const serial = (): Promise<string> => new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: ctl.clientPort, ca: readFileSync(ca.cert) });
      s.once('secureConnect', () => { resolve(s.getPeerCertificate().serialNumber); s.destroy(); });
      s.once('error', reject);
    });
    const before = await serial();
    // A client session (handshake acked) from before the reload.
    const session = new WebSocket(`wss://127.0.0.1:${ctl.clientPort}/v1/messages/json`, { ca: readFileSync(ca.cert) });
    const messages: string[] = [];
    session.on('message', (m) => messages.push(m.toString()));
    session.once('open', () => session.send(JSON.stringify([TOPIC_CONTROLLER])));
    await eventually(() => messages.some((m) => m.includes('"ack"')), 5000);
    const renewed = ca.issue('controller');
    copyFileSync(renewed.cert, certPath);
    copyFileSync(renewed.key, keyPath);
    ctl.proc.child.kill('SIGHUP');
    await ctl.proc.waitFor(/reloaded TLS material and credentials/);
    assert.notEqual(await serial(), before);
    session.send(encodeData(TOPIC_CONTROLLER, encodeEvent(ControllerApi.getInstances.request.make('after-reload'))));
    await eventually(() => messages.some((m) => m.includes('after-reload')), 5000);
    assert.equal(session.readyState, WebSocket.OPEN, 'the session opened before the reload is still up');
    session.close();
  });
});
