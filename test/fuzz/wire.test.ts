/**
 * The fuzzers of every wire entry point at a small count (`npm run fuzz`
 * runs 100 000 messages each): no daemon dies, nothing stored changes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeTempDirs, stopAll } from '../helpers/process.js';
import { fuzz } from './fuzz.js';
import { startTargets, type Targets } from './targets.js';

const COUNT = Number(process.env.FUZZ_TEST_COUNT ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 12_345);
let t: Targets;

before(async () => { t = await startTargets(); });
after(async () => {
  await t?.close();
  await stopAll();
  removeTempDirs();
});

test('fuzzed handshakes and messages on every entry point crash nothing and change nothing stored', async () => {
  for (const target of t.targets) {
    const r = await fuzz(target, COUNT, SEED);
    assert.equal(r.messages, COUNT, `${target.name}: every message was sent`);
    assert.equal(r.crashes, 0, `${target.name} survived`);
    assert.ok(r.errors > 0, `${target.name} answered bad input with errors (${r.errors})`);
  }
  await t.unchanged();
});
