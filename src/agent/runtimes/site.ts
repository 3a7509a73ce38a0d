/**
 * A node's script bundle, once unpacked into `<node dir>/site` (the agent
 * does that before a launch or a check): what the node loads of it, as
 * zeekctl loads `site/local.zeek` — the bundle as a package when it has a
 * `__load__.zeek`, else its `local.zeek`, else nothing (the node's `scripts`
 * name its files, e.g. `site/detect.zeek`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_DIR } from '../../management/bundle.js';
import type { NodeLaunch } from './types.js';

export const SITE_ENTRIES = ['__load__.zeek', 'local.zeek'] as const;

/** The script argument that loads the node's bundle (relative to its directory), if any. */
export function siteEntry(launch: NodeLaunch): string | undefined {
  if (launch.layout.bundle === undefined) return undefined;
  const found = SITE_ENTRIES.find((f) => existsSync(join(launch.nodeDir, BUNDLE_DIR, f)));
  return found ? `./${BUNDLE_DIR}/${found}` : undefined;
}

/** The bundle's directory, for the node's ZEEKPATH (so that `@load name` finds its scripts), if it has one. */
export function siteDir(launch: NodeLaunch): string | undefined {
  return launch.layout.bundle === undefined ? undefined : join(launch.nodeDir, BUNDLE_DIR);
}
