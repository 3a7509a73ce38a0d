/**
 * Which Zeek the agent runs: `zeek --version`, read once at start. Zeek 8.0
 * is the oldest supported: it has `Cluster::listen_websocket` (the node's
 * management listener) and the ZeroMQ backend. What differs from 8.1 on:
 * 8.0 uses Broker unless told otherwise and has no
 * `frameworks/cluster/backend/broker` package (8.1 made the backend a
 * required choice).
 */
import { execFileSync } from 'node:child_process';

export interface ZeekVersion {
  major: number;
  minor: number;
  patch: number;
  /** As zeek prints it, e.g. `9.1.0-dev`. */
  text: string;
}

export const MIN_ZEEK: Readonly<ZeekVersion> = { major: 8, minor: 0, patch: 0, text: '8.0.0' };

export type VersionProbe = { ok: true; version: ZeekVersion } | { ok: false; error: string };

/** Parses `zeek --version` output (`/opt/zeek/bin/zeek version 9.1.0-dev`). */
export function parseZeekVersion(output: string): ZeekVersion | undefined {
  const m = /\bversion (\d+)\.(\d+)(?:\.(\d+))?([-.+~\w]*)/.exec(output);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, patch, text: `${major}.${minor}.${m[3] ?? 0}${m[4] ?? ''}` };
}

export function atLeast(v: ZeekVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** Runs `<zeek> --version` and checks the version is supported. */
export function probeZeek(zeekPath: string): VersionProbe {
  let output: string;
  try {
    output = execFileSync(zeekPath, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const detail = e.code === 'ENOENT' ? 'not found' : (e.stderr?.trim() || e.message);
    return { ok: false, error: `cannot run ${zeekPath} --version: ${detail}` };
  }
  const version = parseZeekVersion(output);
  if (!version) return { ok: false, error: `${zeekPath} --version printed no version: ${JSON.stringify(output.trim().slice(0, 200))}` };
  if (!atLeast(version, MIN_ZEEK.major, MIN_ZEEK.minor)) {
    return { ok: false, error: `${zeekPath} is Zeek ${version.text}; zeek-mgmt needs Zeek ${MIN_ZEEK.major}.${MIN_ZEEK.minor} or newer` };
  }
  return { ok: true, version };
}
