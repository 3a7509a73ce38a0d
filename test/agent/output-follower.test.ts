/** OutputFollower over real files, polled by the test: new lines, partial lines, rotation, caps. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFollower, type OutputLine } from '../../src/agent/output-follower.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

/** A follower whose timer never fires during a test: the test polls. */
function follower(maxLinesPerTick = 50): { f: OutputFollower; got: OutputLine[]; dir: string } {
  const got: OutputLine[] = [];
  const dir = tempDir();
  writeFileSync(join(dir, 'stdout'), '');
  writeFileSync(join(dir, 'stderr'), '');
  return { f: new OutputFollower((l) => got.push(l), 3_600_000, maxLinesPerTick), got, dir };
}

describe('OutputFollower', () => {
  test('reports complete new lines per stream; a partial line waits for its end', () => {
    const { f, got, dir } = follower();
    try {
      f.followFromStart('worker-1', dir);
      appendFileSync(join(dir, 'stdout'), 'one\ntw');
      appendFileSync(join(dir, 'stderr'), 'oops\n\n');
      f.poll();
      assert.deepEqual(got.map((l) => [l.node, l.stream, l.line]), [['worker-1', 'stdout', 'one'], ['worker-1', 'stderr', 'oops']]);
      appendFileSync(join(dir, 'stdout'), 'o\n');
      f.poll();
      assert.deepEqual(got.at(-1), { node: 'worker-1', stream: 'stdout', line: 'two' });
      f.poll();
      assert.equal(got.length, 3, 'nothing new, nothing reported');
    } finally {
      f.close();
    }
  });

  test('follow() starts at the current end; a rotated (shrunk) file starts over; unfollow() stops', () => {
    const { f, got, dir } = follower();
    try {
      writeFileSync(join(dir, 'stdout'), 'from an earlier run\n');
      f.follow('manager', dir);
      f.poll();
      assert.equal(got.length, 0, 'what was there before is not reported');
      writeFileSync(join(dir, 'stdout'), 'new\n');
      f.poll();
      assert.deepEqual(got.map((l) => l.line), ['new']);
      f.unfollow('manager');
      appendFileSync(join(dir, 'stdout'), 'unseen\n');
      f.poll();
      assert.deepEqual(got.map((l) => l.line), ['new']);
    } finally {
      f.close();
    }
  });

  test('a chatty node is capped per poll and a long line is cut', () => {
    const { f, got, dir } = follower(5);
    try {
      f.followFromStart('logger', dir);
      appendFileSync(join(dir, 'stdout'), `${'x'.repeat(1500)}\n${Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n')}\n`);
      f.poll();
      assert.equal(got.length, 5);
      assert.equal(got[0]!.line, `${'x'.repeat(1000)}…`);
    } finally {
      f.close();
    }
  });
});
