/**
 * Packs a directory of site scripts into a script bundle: a gzipped tar of
 * its regular files and directories, in name order, without owners or
 * times, so that the same contents always make the same archive and hash.
 * A symbolic link or any other special file is refused here, naming it
 * (agents refuse them too). Loaded only by the commands that pack.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { create } from 'tar';
import { bundleHash, formatBytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_ENTRIES } from '../management/bundle.js';
import type { Outcome } from '../protocol/errors.js';

export interface PackedBundle {
  hash: string;
  archive: Buffer;
  /** Regular files in it. */
  files: number;
  /** What the node loads of it: `__load__.zeek`, `local.zeek`, or nothing (its scripts are named in `scripts`). */
  entry: string | undefined;
}

/** Every entry under `dir`, relative, sorted; directories before their contents. */
function listTree(dir: string): Outcome<string[]> {
  const out: string[] = [];
  const walk = (at: string): string | undefined => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const st = lstatSync(path);
      const rel = relative(dir, path).split(sep).join('/');
      if (st.isSymbolicLink()) return `${path} is a symbolic link; a script bundle holds regular files and directories only (copy the file in)`;
      if (st.isDirectory()) {
        out.push(`${rel}/`);
        const problem = walk(path);
        if (problem) return problem;
      } else if (st.isFile()) out.push(rel);
      else return `${path} is not a regular file or directory; a script bundle holds only those`;
      if (out.length > MAX_BUNDLE_ENTRIES) return `${dir} holds more than ${MAX_BUNDLE_ENTRIES} files and directories, the most a script bundle may`;
    }
    return undefined;
  };
  try {
    if (!lstatSync(dir).isDirectory()) return { ok: false, error: `${dir} is not a directory` };
    const problem = walk(dir);
    return problem ? { ok: false, error: problem } : { ok: true, value: out };
  } catch (err) {
    return { ok: false, error: `cannot read ${dir}: ${(err as Error).message}` };
  }
}

export async function packBundle(dir: string): Promise<Outcome<PackedBundle>> {
  const listed = listTree(dir);
  if (!listed.ok) return listed;
  const entries = listed.value;
  const files = entries.filter((e) => !e.endsWith('/'));
  if (files.length === 0) return { ok: false, error: `${dir} holds no files; a script bundle needs at least one script` };
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const stream = create({ cwd: dir, gzip: true, portable: true, noDirRecurse: true, mtime: new Date(0), follow: false }, entries);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BUNDLE_BYTES) return { ok: false, error: `${dir} packs to more than ${formatBytes(MAX_BUNDLE_BYTES)}, the most a script bundle may hold` };
      chunks.push(chunk);
    }
  } catch (err) {
    return { ok: false, error: `cannot pack ${dir}: ${(err as Error).message}` };
  }
  const archive = Buffer.concat(chunks);
  const entry = ['__load__.zeek', 'local.zeek'].find((f) => files.includes(f));
  return { ok: true, value: { hash: bundleHash(archive), archive, files: files.length, entry } };
}
