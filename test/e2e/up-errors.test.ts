import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { freePort, removeTempDirs, runCli, stopAll, tempDir } from '../helpers/process.js';

after(async () => { await stopAll(); removeTempDirs(); });

describe('zeek-mgmt up refuses bad settings with one clear line', () => {
  test('an unknown runtime: exit 2 before anything starts', async () => {
    const r = await runCli(['up', '--runtime', 'docker', '--state-dir', tempDir(), '--client-port', '0', '--agent-port', '0', '--agent-listen-port', '0']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'zeek-mgmt up: --runtime must be sim, zeek or auto, got "docker"\n');
  });

  test('a bad port: exit 2', async () => {
    const r = await runCli(['up', '--runtime', 'sim', '--state-dir', tempDir(), '--client-port', '99999']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^zeek-mgmt up: --client-port must be a port number/);
  });

  test('a client port in use: exit 1, says so, leaves nothing running', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const r = await runCli(['up', '--runtime', 'sim', '--state-dir', tempDir(), '--client-port', String(port), '--agent-port', '0', '--agent-listen-port', '0'], { timeoutMs: 20000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /zeek-mgmt up: cannot listen: address in use .*127\.0\.0\.1:\d+.*Pick other ports with --client-port/);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    } finally {
      holder.close();
    }
  });
});
