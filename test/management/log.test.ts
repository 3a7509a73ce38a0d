/**
 * The management log writes lines in batches: these tests check that every
 * line still arrives, in order, with the time of the call, on close, on
 * its own after a short while, and when a process exits without closing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/management/log.js';
import { eventually, removeTempDirs, spawnProc, stopAll, tempDir } from '../helpers/process.js';

after(async () => {
  await stopAll();
  removeTempDirs();
});

type Line = Record<string, unknown>;
const lines = (dir: string): Line[] => {
  const text = readFileSync(join(dir, 'management.log'), 'utf8');
  return text === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as Line);
};

test('lines keep their order and the time of the call, a burst is written as it grows, and close writes what is pending', async () => {
  const dir = tempDir();
  const log = createLogger({ name: 'ctl-test', role: 'controller', stateDir: dir, quiet: true });
  const before = Date.now();
  for (let i = 0; i < 2000; i++) log.info({ i }, `line ${i}`);
  const after = Date.now();
  // A burst is written as it goes, a few dozen lines at a time, not held until the timer.
  assert.ok(lines(dir).length >= 1500, `a burst of 2000 lines is mostly written already (${lines(dir).length})`);
  await new Promise((r) => setTimeout(r, 30));
  log.warn({ late: true }, 'later');
  log.close();
  const got = lines(dir);
  assert.equal(got.length, 2001);
  got.slice(0, 2000).forEach((l, i) => {
    assert.equal(l.msg, `line ${i}`);
    assert.equal(l.level, 'info');
    assert.equal(l.name, 'ctl-test');
    assert.equal(l.role, 'controller');
    const t = Date.parse(l.time as string);
    assert.ok(t >= before && t <= after, `time ${String(l.time)} is the time of the call`);
  });
  assert.deepEqual({ level: got[2000]!.level, late: got[2000]!.late }, { level: 'warn', late: true });
});

test('info lines reach the file on their own; a warning or an error is written at once, after them', async () => {
  const dir = tempDir();
  const log = createLogger({ name: 'agent-test', role: 'agent', stateDir: dir, quiet: true });
  try {
    log.info({ n: 1 }, 'first');
    const first = await eventually(() => { const l = lines(dir); return l.length > 0 ? l : undefined; }, 2000);
    assert.deepEqual(first.map((l) => l.msg), ['first']);
    log.info({ n: 2 }, 'second');
    log.error({ code: 7 }, 'wanted');
    assert.deepEqual(lines(dir).map((l) => [l.level, l.msg]), [['info', 'first'], ['info', 'second'], ['error', 'wanted']]);
  } finally {
    log.close();
  }
});

test('levels below the threshold are dropped, but management.log keeps the info lines: the audit trail', () => {
  const dir = tempDir();
  const log = createLogger({ name: 'agent-test', role: 'agent', stateDir: dir, quiet: true, level: 'warn' });
  log.info({}, 'recorded');
  log.debug({}, 'not wanted');
  log.warn({}, 'wanted');
  log.close();
  assert.deepEqual(lines(dir).map((l) => l.msg), ['recorded', 'wanted']);
  const debug = createLogger({ name: 'agent-test', role: 'agent', stateDir: dir, quiet: true, level: 'debug' });
  debug.debug({}, 'asked for');
  debug.close();
  assert.equal(lines(dir).at(-1)?.msg, 'asked for');
});

test('stderr: the chosen level only; readable lines on a terminal or with format text, JSON otherwise', async () => {
  const dir = tempDir();
  const script = (format: string): string => [
    `import { createLogger } from ${JSON.stringify(new URL('../../src/management/log.js', import.meta.url).href)};`,
    `const log = createLogger({ name: 'ctl-x', role: 'controller', stateDir: ${JSON.stringify(dir)}, level: 'warn'${format ? `, format: '${format}'` : ''} });`,
    "log.info({ reqid: 'r1' }, 'rx get_nodes_request');",
    "log.warn({ instance: 'agent-a', text: 'clear \u001b[2J screen' }, 'instance agent-a disconnected');",
    'log.close();',
  ].join('\n');
  const run = async (format: string): Promise<string> => {
    const p = spawnProc(process.execPath, ['--input-type=module', '-e', script(format)]);
    assert.equal(await p.exited(), 0, p.stderr());
    return p.stderr();
  };
  const text = await run('text');
  assert.match(text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARN {2}ctl-x: instance agent-a disconnected instance=agent-a text="clear \\u001b\[2J screen"\n$/);
  assert.ok(!text.includes('\u001b'), 'no control character reaches the terminal');
  const json = await run('');
  assert.deepEqual(json.trim().split('\n').map((l) => (JSON.parse(l) as Line).msg), ['instance agent-a disconnected'], 'a pipe gets JSON, warn and above');
  assert.deepEqual(lines(dir).map((l) => l.msg), ['rx get_nodes_request', 'instance agent-a disconnected', 'rx get_nodes_request', 'instance agent-a disconnected']);
});

test('an unknown level is refused before any file is created', () => {
  const dir = tempDir();
  assert.throws(() => createLogger({ name: 'x', role: 'agent', stateDir: join(dir, 'state'), quiet: true, level: 'loud' }), /unknown log level "loud"/);
  assert.throws(() => readFileSync(join(dir, 'state', 'management.log')), /ENOENT/);
});

test('a process that exits right after logging still writes its lines, to the file and to stderr', async () => {
  const dir = tempDir();
  const script = join(dir, 'exit-now.mjs');
  const logModule = fileURLToPath(new URL('../../src/management/log.js', import.meta.url));
  writeFileSync(script, [
    `import { createLogger } from ${JSON.stringify(logModule)};`,
    `const log = createLogger({ name: 'short-lived', role: 'agent', stateDir: ${JSON.stringify(dir)} });`,
    `for (let i = 0; i < 100; i++) log.info({ i }, 'before exit');`,
    `process.exit(3);`,
  ].join('\n'));
  const proc = spawnProc(process.execPath, [script]);
  assert.equal(await proc.exited(), 3);
  assert.equal(lines(dir).length, 100);
  assert.equal(proc.stderr().trim().split('\n').length, 100);
});

test('a line has pino\'s shape: level, time, name, role, the fields in order (err serialized, big integers exact, undefined left out), msg', () => {
  const dir = tempDir();
  const log = createLogger({ name: 'shape', role: 'controller', stateDir: dir, quiet: true });
  const err = Object.assign(new Error('boom'), { code: 'EBOOM' });
  log.info({ reqid: 'r1', big: 2n ** 64n, gone: undefined, nested: { a: [1, 'x'] } }, 'first "line"');
  log.error({ err }, 'failed');
  log.close();
  const text = readFileSync(join(dir, 'management.log'), 'utf8').split('\n');
  assert.match(text[0]!, /^\{"level":"info","time":"[^"]+","name":"shape","role":"controller","reqid":"r1","big":18446744073709551616,"nested":\{"a":\[1,"x"\]\},"msg":"first \\"line\\""\}$/);
  const second = JSON.parse(text[1]!) as { err: Record<string, unknown> };
  assert.deepEqual(Object.keys(second.err), ['type', 'message', 'stack', 'code']);
  assert.deepEqual([second.err.type, second.err.message, second.err.code], ['Error', 'boom', 'EBOOM']);
});
