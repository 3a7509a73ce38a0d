/**
 * `zeek-mgmt check FILE` (zeekctl's check) on the simulated runtime: every
 * node's scripts are checked by its agent, nothing is started or stored,
 * and each problem is named: a script that is not there, an instance whose
 * agent is not connected, a configuration the controller refuses.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, removeTempDirs, runCli, spawnCli, stopAll, tempDir } from '../helpers/process.js';

after(async () => { await stopAll(); removeTempDirs(); });

describe('check', () => {
  test('parses each node by its agent, starts and stores nothing, names every problem', async () => {
    const [clientPort, agentPort] = [await freePort(), await freePort()];
    const up = spawnCli(['up', '--runtime', 'sim', '--agent-name', 'agent-a', '--client-port', String(clientPort), '--agent-port', String(agentPort),
      '--agent-listen-port', '0', '--state-dir', tempDir(), '--port-start', String(await freePort()), '--metrics-port-start', String(await freePort())]);
    await up.waitFor(/Ready\. In another terminal/, 30_000);
    const client = (args: string[]): ReturnType<typeof runCli> => runCli(['--controller', `127.0.0.1:${clientPort}`, ...args], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' } });
    const dir = tempDir();
    const site = join(dir, 'site.zeek');
    writeFileSync(site, '# site policy\n');
    const file = (name: string, text: string): string => { const f = join(dir, name); writeFileSync(f, text); return f; };

    const good = await client(['check', file('good.ini', `[manager]\nrole = manager\ninstance = agent-a\nscripts = ${site}\n\n[w1]\nrole = worker\ninstance = agent-a\ninterface = lo\n`)]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.deepEqual(JSON.parse(good.stdout), { errors: [], results: { nodes: { manager: { instance: 'agent-a', success: true }, w1: { instance: 'agent-a', success: true } } } });

    const missing = await client(['check', file('missing.ini', '[manager]\nrole = manager\ninstance = agent-a\nscripts = ./nowhere.zeek\n')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error: manager: node manager failed the script check: fatal error: can't find \.\/nowhere\.zeek/);
    assert.equal((missing.stderr.match(/failed the script check/g) ?? []).length, 1, `the reason is said once: ${missing.stderr}`);
    assert.equal((JSON.parse(missing.stdout) as { results: { nodes: { manager: { stderr: string } } } }).results.nodes.manager.stderr, "fatal error: can't find ./nowhere.zeek");

    const elsewhere = await client(['check', file('elsewhere.ini', '[instances]\nagent-a\nagent-b\n\n[manager]\nrole = manager\ninstance = agent-a\n\n[w1]\nrole = worker\ninstance = agent-b\ninterface = lo\n')]);
    assert.equal(elsewhere.code, 1);
    assert.deepEqual((JSON.parse(elsewhere.stdout) as { errors: string[] }).errors, ['instance agent-b is not connected']);

    const invalid = await client(['check', file('invalid.ini', '[w1]\nrole = worker\ninstance = agent-a\n')]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stdout, /worker 'w1' has no interface to sniff/);

    const nodes = await client(['get-nodes']);
    const statuses = Object.values((JSON.parse(nodes.stdout) as { results: Record<string, Record<string, { cluster_role: string | null }>> }).results['agent-a']!);
    assert.deepEqual(statuses.filter((s) => s.cluster_role !== null), [], 'no cluster node was started');
    assert.equal(statuses.length, 2, 'the agent and the controller');
    const staged = await client(['get-config']);
    assert.equal(staged.code, 1);
    assert.match(staged.stderr, /no staged configuration available/);
    await up.stop();
  });
});
