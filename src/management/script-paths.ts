/**
 * What `zeek -a` says of a node's script entry that names a file it cannot
 * find. Entries that look like paths (`./x`, `/x`, `../x`, `x.zeek`) must
 * exist; others are package names that zeek resolves along ZEEKPATH. Shared
 * by the simulated node and the agent's in-process check of it.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export function missingScript(script: string, cwd: string): string | undefined {
  const isPath = script.endsWith('.zeek') || script.startsWith('./') || isAbsolute(script) || script.startsWith('../');
  return isPath && !existsSync(resolve(cwd, script)) ? `fatal error: can't find ${script}` : undefined;
}
