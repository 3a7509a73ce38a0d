/**
 * `diag`: the files the agent and the controller sent about a node, packed
 * into one .tar.gz under `diag-<node>-<time>/` (the agent's files at the
 * top, the controller's in `controller/`, failed parts in `errors.txt`).
 * Names are made safe: no absolute paths, no `..`.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Outcome } from '../protocol/errors.js';
import type { Result } from '../management/types.js';

export interface DiagWritten { file: string; files: number; errors: string[] }

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** `a/b/../c` → `a/b/c`, without leading `/`: a member name that stays inside the archive's folder. */
const safePath = (p: string): string => p.split('/').filter((part) => part !== '' && part !== '.' && part !== '..').map(safeName).join('/');

export async function writeDiagArchive(node: string, results: readonly Result[], output: string | undefined): Promise<Outcome<DiagWritten>> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const folder = `diag-${safeName(node)}-${stamp}`;
  const file = output ?? `zeek-mgmt-${folder}.tar.gz`;
  const entries = new Map<string, string>();
  const errors: string[] = [];
  for (const r of results) {
    if (!r.success) {
      errors.push(`${r.instance ?? 'controller'}: ${r.error ?? 'no reason given'}`);
      continue;
    }
    if (r.data?.type !== 'table') continue;
    for (const [k, v] of r.data.value) {
      if (k.type !== 'string' || v.type !== 'string') continue;
      const name = safePath(k.value);
      if (name !== '') entries.set(name, v.value);
    }
  }
  if (entries.size === 0) return { ok: false, error: `no diagnostics of ${node} received: ${errors.join('; ') || 'empty answer'}` };
  if (errors.length > 0) entries.set('errors.txt', `${errors.join('\n')}\n`);
  const tar = pack();
  const mtime = new Date();
  for (const [name, text] of [...entries].sort(([x], [y]) => (x < y ? -1 : 1))) tar.entry({ name: `${folder}/${name}`, mode: 0o644, mtime }, text);
  tar.finalize();
  try {
    await pipeline(tar, createGzip(), createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    return { ok: false, error: `cannot write ${file}: ${(err as Error).message}` };
  }
  return { ok: true, value: { file, files: entries.size, errors } };
}
