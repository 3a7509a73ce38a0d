import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, removeTempDirs, spawnProc, stopAll, tempDir } from '../helpers/process.js';

after(async () => { await stopAll(); removeTempDirs(); });

test('a one-shot client command loads commander, ws and the codec, not pino, SQLite or controller/agent code', async () => {
  const hook = join(tempDir(), 'trace-loads.mjs');
  const resolver = "export async function resolve(s, c, n) { const r = await n(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOAD ' + r.url + '\\n'); return r; }";
  writeFileSync(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`);
  const proc = spawnProc(process.execPath, ['--import', hook, CLI, 'show-settings']);
  assert.equal(await proc.exited(), 0, proc.stderr());
  const loaded = [...new Set(proc.stderr().split('\n').filter((l) => l.startsWith('LOAD ')).map((l) => l.slice(5)))];
  // ws itself is required (CommonJS) by src/protocol/ws.ts, which this ES module hook does not see.
  assert.ok(loaded.some((u) => u.includes('/dist/src/protocol/ws.js')), 'ws is loaded');
  assert.ok(loaded.some((u) => u.includes('/dist/src/client/commands.js')), 'the commands are loaded');
  const heavy = loaded.filter((u) => /node_modules\/(pino|better-sqlite3)|dist\/src\/(controller|agent|launch)\/(?!cli\.js)/.test(u));
  assert.deepEqual(heavy, []);
});
