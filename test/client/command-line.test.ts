import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { COMMANDS, GLOBAL_OPTIONS, optionKey, plainClientCommand } from '../../src/client/command-line.js';
import { removeTempDirs, runCliTracingLoads, stopAll, tempDir } from '../helpers/process.js';

after(async () => { await stopAll(); removeTempDirs(); });

describe('the plain form of a client command, recognised without commander', () => {
  test('global options, a command and its operands are plain', () => {
    for (const argv of [
      ['get-instances'],
      ['--controller', 'h:1', '--set', 'a.b=c', '--set=d.e=f', '-c', 'x.ini', '--configfile=y.ini', '-q', '--quiet', '-v', '--verbose', '-vvv', '-qv', 'get-nodes'],
      ['--controller', '--help', 'show-settings'], // a value is whatever follows, as commander takes it
      ['stage-config', '-'],
      ['get-id-value', 'Foo::bar'],
      ['get-id-value', 'Foo::bar', 'a', 'b'],
      ['restart'],
      ['get-config'],
    ]) assert.equal(typeof plainClientCommand(argv), 'function', argv.join(' '));
  });

  test('everything else is left to commander: help, subcommand options, usage errors, other commands', () => {
    for (const argv of [
      [], ['--help'], ['-h'], ['help'], ['help', 'get-instances'], ['--version'],
      ['get-instances', '--help'], ['get-instances', '-h'], ['get-nodes', '--table'], ['get-instances', '--'], ['--', 'get-instances'],
      ['bogus'], ['-'], ['--bogus', 'get-instances'], ['-x', 'get-instances'], ['-vx', 'get-instances'],
      ['-cx.ini', 'get-instances'], ['--quiet=1', 'get-instances'], ['--controller'], ['--controller', 'h:1'],
      ['get-instances', 'extra'], ['stage-config'], ['stage-config', 'a', 'b'], ['get-id-value'], ['restart', '-1'],
      ['controller'], ['agent', '--name', 'a'], ['up'],
    ]) assert.equal(plainClientCommand(argv), undefined, argv.join(' '));
  });

  test('option values are stored under the keys commander uses', () => {
    const program = new Command();
    for (const spec of [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options ?? [])]) {
      assert.equal(optionKey(spec), program.createOption(spec.flags).attributeName(), spec.flags);
    }
  });

  test('the plain form and commander give a command the same settings', async () => {
    const file = join(tempDir(), 'client.ini');
    writeFileSync(file, '[client]\npretty_json = False\n[controller]\nport = 3000\n');
    const env = { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' };
    for (const globals of [
      [], ['--controller', '10.0.0.1:99'], ['--controller=[::1]'], ['-c', file], ['--configfile', file, '--controller', ':4000'],
      ['--set', 'client.pretty_json=False', '--set=client.request_timeout_secs=3'], ['-vvv'], ['-v', '--verbose'],
      ['-q'], ['-qv'], ['--set', 'nodot'], ['--controller', ':99999'],
    ]) {
      const plain = await runCliTracingLoads([...globals, 'show-settings'], { env });
      // `--` after the command means nothing to show-settings, but is not plain: commander parses it.
      const parsed = await runCliTracingLoads([...globals, 'show-settings', '--'], { env });
      assert.ok(!plain.loaded.some((u) => u.endsWith('/dist/src/program.js')), `${globals.join(' ')}: plain`);
      assert.ok(parsed.loaded.some((u) => u.endsWith('/dist/src/program.js')), `${globals.join(' ')}: commander`);
      assert.deepEqual([plain.code, plain.stdout, plain.stderr], [parsed.code, parsed.stdout, parsed.stderr], globals.join(' '));
    }
  });
});
