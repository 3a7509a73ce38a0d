import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { rotateOutputs, tailFile } from '../../src/agent/outputs.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

const KEY = Buffer.alloc(32, 1);
const resolve = (flags: Parameters<typeof resolveAgentConfig>[0], env: NodeJS.ProcessEnv = {}) => {
  const r = resolveAgentConfig({ runtime: 'sim', key: KEY, ...flags }, { PATH: '', ...env }, '/work');
  if (!r.ok) throw new Error(r.error);
  return r.value.options;
};
const refused = (flags: Parameters<typeof resolveAgentConfig>[0], env: NodeJS.ProcessEnv = {}): string => {
  const r = resolveAgentConfig({ runtime: 'sim', key: KEY, ...flags }, { PATH: '', ...env }, '/work');
  assert.equal(r.ok, false, 'refused');
  return r.ok ? '' : r.error;
};

describe('agent settings', () => {
  test('the agent key: required, from --key-file or ZEEK_MGMT_AGENT_KEY_FILE, a file only its owner reads', () => {
    const noKey = resolveAgentConfig({ runtime: 'sim' }, { PATH: '' }, '/work');
    assert.equal(noKey.ok, false);
    assert.match(noKey.ok ? '' : noKey.error, /the agent obeys only a controller that proves its key: give --key-file FILE/);
    const dir = tempDir();
    const file = join(dir, 'agent.key');
    writeFileSync(file, `${KEY.toString('base64url')}\n`, { mode: 0o600 });
    assert.deepEqual(resolve({ key: undefined, keyFile: file }).security.key, KEY);
    assert.deepEqual(resolve({ key: undefined }, { ZEEK_MGMT_AGENT_KEY_FILE: file }).security.key, KEY);
    chmodSync(file, 0o644);
    assert.match(refused({ key: undefined, keyFile: file }), /--key-file: key file .* may be read by others; chmod 600 it/);
    writeFileSync(join(dir, 'short'), 'abc\n', { mode: 0o600 });
    assert.match(refused({ key: undefined, keyFile: join(dir, 'short') }), /does not hold a key/);
  });

  test('off loopback without TLS: refused unless --insecure; TLS flags come in pairs', () => {
    assert.match(refused({ listenAddress: '0.0.0.0' }), /refusing to listen for controllers on 0\.0\.0\.0 without TLS \(--listen-address\)/);
    assert.match(refused({ controller: '10.0.0.1:2150' }), /refusing to connect to the controller at 10\.0\.0\.1 without TLS/);
    assert.equal(resolve({ listenAddress: '0.0.0.0', insecure: true }).security.insecure, true);
    assert.equal(resolve({ listenAddress: '0.0.0.0', tlsCert: '/c.pem', tlsKey: '/k.pem' }).security.tls?.cert, '/c.pem');
    assert.match(refused({ tlsCert: '/c.pem' }), /--tls-cert needs --tls-key/);
    assert.match(refused({ tlsCa: '/ca.pem' }), /--tls-ca needs a certificate and key/);
    assert.deepEqual(resolve({}, { ZEEK_MGMT_TLS_CERT: '/c', ZEEK_MGMT_TLS_KEY: '/k', ZEEK_MGMT_TLS_PASSPHRASE: 'pw' }).security.tls, { cert: '/c', key: '/k', passphrase: 'pw' });
  });

  test('defaults follow Zeek', () => {
    const o = resolve({});
    assert.equal(o.name, `agent-${hostname()}`);
    assert.deepEqual([o.listenHost, o.listenPort, o.controllerHost, o.controllerPort], ['127.0.0.1', 2151, '127.0.0.1', 2150]);
    assert.equal(o.stateDir, `/work/.zeek-mgmt/agent-${hostname()}`);
    assert.equal(o.listen && o.connect, true);
    assert.deepEqual(o.archive, { intervalMs: 300_000 }, 'archival is on, built in, as with Zeek\'s own agent');
  });

  test('Zeek environment variables, and flags over them', () => {
    const env = {
      ZEEK_AGENT_NAME: 'agent-env', ZEEK_AGENT_ADDR: '10.0.0.1', ZEEK_AGENT_PORT: '3151/tcp', ZEEK_CONTROLLER_ADDR: '10.0.0.2',
      ZEEK_CONTROLLER_PORT: '3150', ZEEK_MANAGEMENT_STATE_DIR: '/var/lib/zeek', ZEEK_MANAGEMENT_SPOOL_DIR: '/var/spool/zeek',
    };
    const fromEnv = resolve({ insecure: true }, env);
    assert.deepEqual([fromEnv.name, fromEnv.listenHost, fromEnv.listenPort, fromEnv.controllerHost, fromEnv.controllerPort, fromEnv.stateDir, fromEnv.spoolDir],
      ['agent-env', '10.0.0.1', 3151, '10.0.0.2', 3150, '/var/lib/zeek/agent-env', '/var/spool/zeek']);
    const fromFlags = resolve({ insecure: true, name: 'agent-flag', listenAddress: '::1', listenPort: '0', controller: '[::1]:4150', stateDir: '/tmp/s', spoolDir: '/tmp/p' }, env);
    assert.deepEqual([fromFlags.name, fromFlags.listenHost, fromFlags.listenPort, fromFlags.controllerHost, fromFlags.controllerPort, fromFlags.stateDir, fromFlags.spoolDir],
      ['agent-flag', '::1', 0, '::1', 4150, '/tmp/s/agent-flag', '/tmp/p']);
  });

  test('durations in seconds, archival settings, runtime choice', () => {
    const o = resolve({ nodeTimeout: '2.5', stopGrace: '0', maxRestartBackoff: '30', archiveCmd: '/usr/bin/zeek-archiver', archiveInterval: '60', archiveDir: '/logs' });
    assert.deepEqual([o.nodeTimeoutMs, o.stopGraceMs, o.maxRestartBackoffMs], [2500, 0, 30000]);
    assert.deepEqual(o.archive, { command: '/usr/bin/zeek-archiver', intervalMs: 60000, archiveDir: '/logs' });
    const auto = resolveAgentConfig({ runtime: 'auto', key: KEY }, { PATH: '/nonexistent' }, '/work');
    assert.ok(auto.ok);
    assert.equal(auto.value.options.runtime, 'sim');
    assert.match(auto.value.notes[0]!, /runtime auto: no zeek binary found \(zeek on PATH\); running simulated nodes/);
    assert.equal(resolve({ archive: false }).archive, false);
    assert.equal(resolve({ logQueueDir: '/q' }).logQueueDir, '/q');
    assert.match(refused({ archive: false, archiveInterval: '5' }), /--no-archive turns archival off/);
  });

  test('ports read as Zeek writes them; a bad value names the flag or the variable it came from', () => {
    assert.equal(resolve({}, { ZEEK_CONTROLLER_PORT: '2150/tcp' }).controllerPort, 2150);
    assert.equal(refused({}, { ZEEK_CONTROLLER_PORT: 'x' }), 'ZEEK_CONTROLLER_PORT must be a port number (0-65535), got "x"');
    assert.equal(refused({ controller: 'c:99999' }), '--controller port must be a port number (0-65535), got "99999"');
    assert.match(refused({ listenAddress: 'a b' }), /^--listen-address must be an address or host name/);
    assert.match(refused({ logLevel: 'loud' }), /^--log-level must be one of trace, debug/);
  });
});

describe('node output files', () => {
  test('each launch rotates non-empty outputs, keeping three', () => {
    const dir = tempDir();
    for (let run = 1; run <= 5; run++) {
      rotateOutputs(dir);
      writeFileSync(join(dir, 'stdout'), `run ${run}\n`);
      writeFileSync(join(dir, 'stderr'), '');
    }
    assert.equal(readFileSync(join(dir, 'stdout'), 'utf8'), 'run 5\n');
    assert.deepEqual([1, 2, 3].map((i) => readFileSync(join(dir, `stdout.${i}`), 'utf8')), ['run 4\n', 'run 3\n', 'run 2\n']);
    assert.equal(existsSync(join(dir, 'stdout.4')), false);
    assert.equal(existsSync(join(dir, 'stderr.1')), false, 'empty files are not rotated');
  });

  test('results carry the last 100 lines', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'out'), Array.from({ length: 250 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const tail = tailFile(join(dir, 'out')).split('\n');
    assert.equal(tail.length, 100);
    assert.deepEqual([tail[0], tail[99]], ['line 150', 'line 249']);
    assert.equal(tailFile(join(dir, 'missing')), '');
  });
});
