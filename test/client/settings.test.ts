import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientSettings, Settings } from '../../src/client/settings.js';
import { pythonJson } from '../../src/client/json-output.js';
import { removeTempDirs, runCli, stopAll, tempDir } from '../helpers/process.js';

after(async () => { await stopAll(); removeTempDirs(); });

describe('settings precedence: file < ZEEK_CLIENT_CONFIG_SETTINGS < --set < --controller', () => {
  const dir = tempDir();
  const file = join(dir, 'client.cfg');
  writeFileSync(file, '[controller]\nhost = 10.1.1.1\nport = 1111\n\n[client]\nrequest_timeout_secs = 7\npretty_json = false\n');

  test('defaults are zeek-client\'s', () => {
    const s = clientSettings(Settings.defaults());
    assert.ok(!(s instanceof Error));
    assert.deepEqual([s.host, s.port, s.requestTimeoutMs, s.peeringAttempts, s.retryDelayMs, s.prettyJson, s.ssl], ['127.0.0.1', 2149, 20000, 10, 1000, true, false]);
  });

  test('each later source wins', async () => {
    const env = { ZEEK_CLIENT_CONFIG_FILE: file, ZEEK_CLIENT_CONFIG_SETTINGS: 'controller.port=2222 client.request_timeout_secs=3' };
    const base = await Settings.load({ env });
    assert.deepEqual(base.errors, []);
    assert.equal(base.settings.get('controller', 'host'), '10.1.1.1');
    assert.equal(base.settings.get('controller', 'port'), '2222');
    assert.equal(base.settings.get('client', 'request_timeout_secs'), '3');
    assert.equal(base.settings.get('client', 'pretty_json'), 'false');
    const set = await Settings.load({ env, set: ['controller.port=3333'] });
    assert.equal(set.settings.get('controller', 'port'), '3333');
    const ctl = await Settings.load({ env, set: ['controller.port=3333'], controller: '[::1]:4444' });
    assert.equal(ctl.settings.get('controller', 'host'), '[::1]');
    assert.equal(ctl.settings.get('controller', 'port'), '4444');
    const typed = clientSettings(ctl.settings);
    assert.ok(!(typed instanceof Error) && typed.host === '::1' && typed.port === 4444);
  });

  test('-c FILE wins over ZEEK_CLIENT_CONFIG_FILE', async () => {
    const other = join(dir, 'other.cfg');
    writeFileSync(other, '[controller]\nport = 5555\n');
    assert.equal((await Settings.load({ configFile: other, env: { ZEEK_CLIENT_CONFIG_FILE: file } })).settings.get('controller', 'port'), '5555');
  });

  test('--controller forms: host, :port, [v6], and unbracketed v6 is refused', async () => {
    const load = async (c: string): Promise<Settings> => (await Settings.load({ env: {}, controller: c })).settings;
    const [h1, p99, v6] = [await load('h1'), await load(':99'), await load('[::1]')];
    assert.deepEqual([h1.get('controller', 'host'), h1.get('controller', 'port')], ['h1', '2149']);
    assert.deepEqual([p99.get('controller', 'host'), p99.get('controller', 'port')], ['127.0.0.1', '99']);
    assert.equal(v6.get('controller', 'host'), '[::1]');
    assert.match((await Settings.load({ env: {}, controller: '::1:80' })).errors[0]!, /IPv6 addresses must be surrounded by brackets/);
  });

  test('malformed items and values are reported, not thrown', async () => {
    const r = await Settings.load({ env: { ZEEK_CLIENT_CONFIG_SETTINGS: 'nodot=1' }, set: ['client.pretty_json'] });
    assert.deepEqual(r.errors, [
      'config item "nodot=1" in ZEEK_CLIENT_CONFIG_SETTINGS invalid. Please use <section.key>=<val>.',
      'config item "client.pretty_json" invalid. Please use <section.key>=<val>.',
    ]);
    const bad = await Settings.load({ env: {}, set: ['client.pretty_json=maybe'] });
    assert.match(String(clientSettings(bad.settings)), /client\.pretty_json = "maybe" is not a boolean/);
    const port = await Settings.load({ env: {}, set: ['controller.port=0'] });
    assert.match(String(clientSettings(port.settings)), /controller port number 0 outside valid range/);
  });
});

describe('show-settings and output formatting (real CLI)', () => {
  test('show-settings prints every section as zeek-client, with overrides applied', async () => {
    const r = await runCli(['--controller', '127.0.0.1:1234', '--set', 'client.pretty_json=False', 'show-settings'], { env: { ZEEK_CLIENT_CONFIG_FILE: '', ZEEK_CLIENT_CONFIG_SETTINGS: '' } });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '[client]\nrequest_timeout_secs = 20\npeering_attempts = 10\npeering_retry_delay_secs = 1.0\nrich_logging_format = False\npretty_json = False\nverbosity = 0\n\n[controller]\nhost = 127.0.0.1\nport = 1234\n\n[ssl]\nenable = False\ncertificate = \nkeyfile = \ncafile = \ncapath = \npassphrase = \n\n');
  });

  test('a settings file that does not parse is named with its line', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.cfg');
    writeFileSync(file, '[client]\npretty_json = true\npretty_json = false\n');
    const r = await runCli(['-c', file, 'show-settings']);
    assert.match(r.stderr, new RegExp(`error: ${file.replace(/[.]/g, '\\.')}:3: key "pretty_json" in section \\[client\\] already defined on line 2`));
  });

  test('-q and -v together are refused', async () => {
    const r = await runCli(['-q', '-v', 'show-settings']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot be used together/);
  });

  test('JSON matches Python\'s json.dumps(sort_keys=True) in both modes', () => {
    const v = { b: [1, { d: null, c: true }], a: 'é"\n', e: {}, f: [] };
    assert.equal(pythonJson(v, false), '{"a": "\\u00e9\\"\\n", "b": [1, {"c": true, "d": null}], "e": {}, "f": []}');
    assert.equal(pythonJson(v, true), '{\n  "a": "\\u00e9\\"\\n",\n  "b": [\n    1,\n    {\n      "c": true,\n      "d": null\n    }\n  ],\n  "e": {},\n  "f": []\n}');
  });
});
