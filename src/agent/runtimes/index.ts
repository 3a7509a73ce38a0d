/** Picks the node runtime: `sim`, or `zeek` with a binary path. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { simRuntime } from './sim.js';
import type { NodeRuntime, RuntimeKind } from './types.js';
import { zeekRuntime } from './zeek.js';
import { probeZeek, type ZeekVersion } from './zeek-version.js';

export type { NodeRuntime, RuntimeKind, NodeLaunch, LaunchPlan, ManagementPath } from './types.js';
export { READY_LINE } from './types.js';

/** The first executable `name` on PATH (or `name` itself when it holds a slash and is executable). */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export { probeZeek, type ZeekVersion } from './zeek-version.js';

/** The node runtime; for zeek, the version read at start (probed here when not given). Throws when zeek is missing or too old. */
export function createRuntime(kind: RuntimeKind, zeekPath: string, version?: ZeekVersion): NodeRuntime {
  if (kind === 'sim') return simRuntime();
  if (version) return zeekRuntime(zeekPath, version);
  const probe = probeZeek(zeekPath);
  if (!probe.ok) throw new Error(probe.error);
  return zeekRuntime(zeekPath, probe.version);
}
