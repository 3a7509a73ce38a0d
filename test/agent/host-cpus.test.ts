import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { formatCpuList, hostCpus, parseCpuList } from '../../src/agent/host-cpus.js';
import { removeTempDirs, tempDir } from '../helpers/process.js';

after(removeTempDirs);

test("the host's CPUs come from the agent's allowed list, as the kernel writes it", () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList('3-1'), undefined);
  assert.equal(parseCpuList('a'), undefined);
  assert.equal(formatCpuList([3, 0, 1, 2, 8, 10, 11]), '0-3,8,10-11');
  const status = join(tempDir(), 'status');
  writeFileSync(status, 'Name:\tnode\nCpus_allowed:\t5\nCpus_allowed_list:\t0,2\n');
  assert.deepEqual(hostCpus(status), [0, 2]);
  assert.ok(hostCpus('/nonexistent').length > 0, 'without /proc: every CPU the system reports');
});
