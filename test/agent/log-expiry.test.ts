/**
 * log_expire_days: archived logs older than so many days are removed from
 * the archive's day directories, by mtime, and emptied day directories go;
 * nothing else in the archive is touched. The archiver applies the
 * retention of the configuration the agent runs after each run.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expireArchive } from '../../src/agent/log-archive.js';
import { Archiver } from '../../src/agent/archiver.js';
import { silentLogger } from '../../src/protocol/index.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

const DAY = 24 * 3600 * 1000;

function archived(root: string, day: string, name: string, ageDays: number, now: number): string {
  mkdirSync(join(root, day), { recursive: true });
  const path = join(root, day, name);
  writeFileSync(path, 'x');
  const t = new Date(now - ageDays * DAY);
  utimesSync(path, t, t);
  return path;
}

describe('log expiry', () => {
  test('removes files older than the retention and the day directories it empties; keeps the rest', () => {
    const root = tempDir();
    const now = Date.now();
    const old = archived(root, '2020-01-01', 'conn.00:00:00-01:00:00.log.gz', 10, now);
    archived(root, '2020-01-01', 'dns.00:00:00-01:00:00.log.gz', 9, now);
    const mixedOld = archived(root, '2020-01-05', 'conn.00:00:00-01:00:00.log.gz', 8, now);
    const recent = archived(root, '2020-01-05', 'conn.01:00:00-02:00:00.log.gz', 1, now);
    const foreign = archived(root, 'notes', 'keep-me.txt', 100, now);
    const loose = join(root, 'README');
    writeFileSync(loose, 'x');
    utimesSync(loose, new Date(now - 100 * DAY), new Date(now - 100 * DAY));
    const run = expireArchive(root, 7, now);
    assert.deepEqual(run.errors, []);
    assert.equal(run.archived.length, 3);
    assert.equal(existsSync(old), false);
    assert.equal(existsSync(mixedOld), false);
    assert.equal(existsSync(join(root, '2020-01-01')), false, 'the emptied day is gone');
    assert.ok(existsSync(recent));
    assert.ok(existsSync(foreign), 'not a day directory: untouched');
    assert.ok(existsSync(loose));
    assert.deepEqual(expireArchive(root, 0, now).archived, [], '0 keeps everything');
  });

  test('the archiver expires by the retention it is given, after each run', async () => {
    const root = tempDir();
    let days: number | undefined;
    const archiver = new Archiver({ intervalMs: 3_600_000, logQueueDir: join(root, 'queue'), archiveDir: join(root, 'logs'), expireDays: () => days }, silentLogger);
    try {
      const file = archived(join(root, 'logs'), '2021-03-04', 'conn.00:00:00-01:00:00.log.gz', 3, Date.now());
      await archiver.runOnce();
      assert.ok(existsSync(file), 'no retention: kept');
      days = 5;
      await archiver.runOnce();
      assert.ok(existsSync(file), 'younger than 5 days: kept');
      days = 2;
      await archiver.runOnce();
      assert.deepEqual(readdirSync(join(root, 'logs')), []);
    } finally {
      await archiver.close();
    }
  });
});
