/**
 * Which zeek the agent runs: `zeek --version` read once at start, Zeek 8.0
 * or newer, a clear start error otherwise; `--runtime auto` says what it
 * picked. Stand-in zeek scripts print the versions.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseZeekVersion, probeZeek } from '../../src/agent/runtimes/zeek-version.js';
import { freePort, removeTempDirs, runCli, spawnCli, stopAll, tempDir } from '../helpers/process.js';
import { realZeekSkip, requireZeek } from '../helpers/zeek.js';
import { testKeyFile } from './harness.js';

after(async () => { await stopAll(); removeTempDirs(); });

function fakeZeek(versionLine: string): string {
  const file = join(tempDir('zeek-mgmt-fakezeek-'), 'zeek');
  writeFileSync(file, `#!/bin/sh\necho "${versionLine}"\n`);
  chmodSync(file, 0o755);
  return file;
}

async function agent(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const [listen, controller] = await Promise.all([freePort(), freePort()]);
  return runCli(['agent', '--key-file', testKeyFile(), '--listen-port', String(listen), '--controller', `127.0.0.1:${controller}`, '--state-dir', tempDir(), ...args], { timeoutMs: 10_000 });
}

describe('zeek version', () => {
  test('parses what zeek --version prints', () => {
    assert.deepEqual(parseZeekVersion('/opt/zeek/bin/zeek version 9.1.0-dev\n'), { major: 9, minor: 1, patch: 0, text: '9.1.0-dev' });
    assert.deepEqual(parseZeekVersion('zeek version 8.0.4'), { major: 8, minor: 0, patch: 4, text: '8.0.4' });
    assert.equal(parseZeekVersion('no version here'), undefined);
  });

  test('8.0 and newer are accepted; older and missing are clear errors', () => {
    assert.equal(probeZeek(fakeZeek('zeek version 8.0.0')).ok, true);
    const old = probeZeek(fakeZeek('zeek version 7.2.1'));
    assert.equal(old.ok, false);
    assert.match(old.ok ? '' : old.error, /is Zeek 7\.2\.1; zeek-mgmt needs Zeek 8\.0 or newer/);
    const missing = probeZeek('/nonexistent/zeek');
    assert.match(missing.ok ? '' : missing.error, /cannot run \/nonexistent\/zeek --version: not found/);
    const garbage = probeZeek(fakeZeek('hello'));
    assert.match(garbage.ok ? '' : garbage.error, /printed no version: "hello"/);
  });

  test('agent --runtime zeek refuses an old or missing zeek at start, exit 2, before it listens', async () => {
    const old = await agent(['--runtime', 'zeek', '--zeek-path', fakeZeek('zeek version 7.0.9')]);
    assert.equal(old.code, 2, old.stderr);
    assert.match(old.stderr, /--runtime zeek: .* is Zeek 7\.0\.9; zeek-mgmt needs Zeek 8\.0 or newer/);
    assert.doesNotMatch(old.stderr + old.stdout, /agent is live/);
    const missing = await agent(['--runtime', 'zeek', '--zeek-path', '/nonexistent/zeek']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--runtime zeek: no executable zeek at "\/nonexistent\/zeek" \(set --zeek-path\)/);
  });

  test('--runtime auto falls back to simulated nodes with the reason', async () => {
    const up = spawnCli(['up', '--runtime', 'auto', '--zeek-path', fakeZeek('zeek version 7.2.0'), '--client-port', String(await freePort()),
      '--agent-port', String(await freePort()), '--agent-listen-port', '0', '--state-dir', tempDir()]);
    await up.waitFor(/Ready\. In another terminal/, 20_000);
    assert.match(up.stderr(), /runtime auto: .* is Zeek 7\.2\.0; zeek-mgmt needs Zeek 8\.0 or newer; running simulated nodes/);
    assert.match(up.stderr(), /\(sim runtime: simulated nodes\)/);
    await up.stop();
  });
});

describe('--runtime auto with the real zeek', { skip: realZeekSkip() }, () => {
  test('picks zeek and says which, with its version', async () => {
    const up = spawnCli(['up', '--runtime', 'auto', '--zeek-path', requireZeek(), '--client-port', String(await freePort()),
      '--agent-port', String(await freePort()), '--agent-listen-port', '0', '--state-dir', tempDir()]);
    await up.waitFor(/Ready\. In another terminal/, 20_000);
    assert.match(up.stderr(), /\(zeek runtime: \/\S+\/zeek, Zeek \d+\.\d+\.\d+/);
    await up.stop();
  });
});
