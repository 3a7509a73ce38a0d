/** Picks the node runtime: `sim`, or `zeek` with a binary path. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { simRuntime } from './sim.js';
import type { NodeRuntime, RuntimeKind } from './types.js';
import { zeekRuntime } from './zeek.js';

export type { NodeRuntime, RuntimeKind, NodeLaunch, LaunchPlan } from './types.js';

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

export function createRuntime(kind: RuntimeKind, zeekPath: string): NodeRuntime {
  return kind === 'sim' ? simRuntime() : zeekRuntime(zeekPath);
}
