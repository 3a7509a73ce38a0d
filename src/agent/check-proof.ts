/**
 * When a script check can be skipped: a node RUNNING now, of the same kind
 * (role, scripts, environment, capture or not, cluster backend, a logger or
 * none), already parsed what the new node would, provided none of the
 * scripts it loaded (listed by the node itself, zeek-files.ts) changed since
 * it started. Files in the node's own directory are the agent's generated
 * scripts, written anew for every launch and correct by construction.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterLayout } from '../management/cluster-layout.js';
import type { Node } from '../management/index.js';

/** What decides how a node parses, apart from its name and ports: the script bundle and the node's options included. */
export function checkKey(node: Node, layout: ClusterLayout): string {
  const hasLogger = layout.nodes.some((n) => n.role === 'LOGGER');
  const options = (node.options ?? []).map((o) => `${o.name}=${o.value}`).sort();
  return JSON.stringify([node.role, node.scripts ?? [], Object.entries(node.env).sort(), node.interface === undefined, layout.backend, hasLogger, layout.bundle ?? '', options]);
}

/** Whether the files a node loaded (its `listFile`) are all older than `since` (ms); false when unknown. */
export function unchangedSince(listFile: string, nodeDir: string, since: number): boolean {
  let paths: string[];
  try {
    paths = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  } catch {
    return false;
  }
  if (paths.length === 0) return false;
  const own = join(nodeDir, '/');
  for (const path of paths) {
    if (path.startsWith(own) || path.startsWith('./')) continue;
    try {
      if (statSync(path).mtimeMs >= since) return false;
    } catch {
      return false;
    }
  }
  return true;
}
