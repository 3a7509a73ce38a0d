/**
 * Values embedded in generated Zeek code stay values: every string literal
 * holds exactly its bytes (checked by the real zeek where it is installed),
 * and a configuration id or node name cannot add code to the scripts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildClusterLayout } from '../../src/management/cluster-layout.js';
import type { Configuration } from '../../src/management/index.js';
import { renderClusterLayout } from '../../src/agent/runtimes/zeek.js';
import { zeekString } from '../../src/agent/runtimes/zeek-script.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';
import { realZeekSkip, requireZeek } from '../helpers/zeek.js';

after(removeTempDirs);

const NASTY = [
  '', 'plain', 'with "quotes"', 'back\\slash', 'line\nbreak', 'nul\u0000byte', 'tab\there', 'é ünïcode ✓ 🦓',
  '"; print "injected"; "', '\\x41 is not A', '\u007f\u0080\u00ff', '# not a comment', '@load evil',
];

const injectedConfig = (id: string): Configuration => ({
  id,
  instances: [{ name: 'agent-a', host: '127.0.0.1' }],
  nodes: [
    { name: 'manager', instance: 'agent-a', role: 'MANAGER', state: 'RUNNING', env: {}, port: { number: 2200, protocol: 'tcp' } },
    { name: 'w"1', instance: 'agent-a', role: 'WORKER', state: 'RUNNING', env: {}, interface: 'lo' },
  ],
});

describe('Zeek string literals', () => {
  test('hold only printable ASCII between their quotes, whatever the input', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const lit = zeekString(s);
      assert.ok(lit.startsWith('"') && lit.endsWith('"'));
      assert.match(lit.slice(1, -1), /^(?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\"|\\\\|\\x[0-9a-f]{2})*$/);
    }), { numRuns: 500 });
  });

  test('a configuration id with a newline stays inside its comment', () => {
    const text = renderClusterLayout(buildClusterLayout(injectedConfig('cfg\nprint "pwned";\n@load evil')));
    assert.equal(text.split('\n').filter((l) => /^\s*(print|@load)/.test(l)).length, 0, text);
    assert.match(text, /^# Configuration "cfg\\x0aprint \\"pwned\\";\\x0a@load evil"$/m);
    assert.match(text, /^\t\["w\\"1"\] = \[\$node_type=Cluster::WORKER/m);
  });
});

describe('Zeek string literals, read back by the real zeek', { skip: realZeekSkip() }, () => {
  test('zeek reads exactly the bytes of every string', () => {
    const zeek = requireZeek();
    const samples = [...NASTY, ...fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), 60)];
    const script = join(tempDir(), 'literals.zeek');
    writeFileSync(script, samples.map((s) => `print bytestring_to_hexstr(${zeekString(s)});`).join('\n') + '\n');
    // Only the final newline goes: a last sample of '' prints an empty last line.
    const out = execFileSync(zeek, ['-b', script], { encoding: 'utf8' }).replace(/\n$/, '').split('\n');
    assert.deepEqual(out, samples.map((s) => Buffer.from(s, 'utf8').toString('hex')));
  });

  test('a layout with hostile names parses, and declares no code', () => {
    const zeek = requireZeek();
    const dir = tempDir();
    writeFileSync(join(dir, 'cluster-layout.zeek'), renderClusterLayout(buildClusterLayout(injectedConfig('x\nevent zeek_init() { print "pwned"; }'))));
    const out = execFileSync(zeek, ['-b', 'base/frameworks/cluster', './cluster-layout.zeek', '-e', 'print |Cluster::nodes|, "w\\"1" in Cluster::nodes;'], { cwd: dir, encoding: 'utf8' });
    assert.equal(out.trim(), '2, T');
  });
});
