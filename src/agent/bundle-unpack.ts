/**
 * Unpacks a script bundle into a node's directory, as root may: the archive
 * is read entry by entry (tar's parser, no extraction of its own) and only
 * regular files and directories with plain relative paths are written,
 * by us, under the target. Absolute paths, `..`, links, devices, FIFOs, a
 * name listed twice, more than MAX_BUNDLE_ENTRIES entries or
 * MAX_UNPACKED_BYTES in all refuse the whole bundle: nothing is left of it.
 * Files get 0644 (0755 when the archive marks them executable), whatever
 * else the archive says (no setuid, no owners).
 */
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { formatBytes, MAX_BUNDLE_ENTRIES, MAX_UNPACKED_BYTES } from '../management/bundle.js';
import type { Outcome } from '../protocol/errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\\]/;

/** The entry's path as segments, or why it cannot be written under the target. */
export function safePath(raw: string): Outcome<string[]> {
  const bad = (why: string): Outcome<string[]> => ({ ok: false, error: `entry ${JSON.stringify(raw.slice(0, 200))} ${why}` });
  if (raw.startsWith('/')) return bad('is an absolute path');
  if (CONTROL.test(raw)) return bad('has a control character or backslash in its name');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return bad("climbs out of the bundle ('..')");
  if (parts.length === 0) return bad('names no file');
  if (parts.some((p) => p.length > 255)) return bad('has a name longer than 255 bytes');
  return { ok: true, value: parts };
}

interface Item { parts: string[]; dir: boolean; mode: number; body?: Buffer }

/** Reads and checks every entry; nothing is written. */
function readArchive(archive: Buffer): Promise<Outcome<Item[]>> {
  return new Promise((resolve) => {
    const items: Item[] = [];
    const seen = new Set<string>();
    let total = 0;
    let problem: string | undefined;
    const parser = new Parser({
      strict: true,
      maxMetaEntrySize: 64 * 1024,
      onReadEntry: (entry: ReadEntry) => {
        if (problem !== undefined) { entry.resume(); return; }
        const refuse = (why: string): void => { problem = why; entry.resume(); };
        const isDir = entry.type === 'Directory';
        if (!isDir && entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
          return refuse(`entry ${JSON.stringify(entry.path.slice(0, 200))} is a ${entry.type}; a script bundle holds regular files and directories only`);
        }
        const path = safePath(entry.path);
        if (!path.ok) return refuse(path.error);
        const key = path.value.join('/');
        if (seen.has(key)) return refuse(`entry ${JSON.stringify(key)} is listed twice`);
        seen.add(key);
        if (items.length >= MAX_BUNDLE_ENTRIES) return refuse(`the bundle has more than ${MAX_BUNDLE_ENTRIES} entries`);
        total += entry.size;
        if (total > MAX_UNPACKED_BYTES) return refuse(`the bundle unpacks to more than ${formatBytes(MAX_UNPACKED_BYTES)}`);
        const mode = (entry.mode ?? 0o644) & 0o100 ? 0o755 : 0o644;
        if (isDir) {
          items.push({ parts: path.value, dir: true, mode: 0o755 });
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => items.push({ parts: path.value, dir: false, mode, body: Buffer.concat(chunks) }));
      },
    });
    parser.on('error', (err: Error) => { problem ??= `the archive is damaged: ${err.message}`; });
    parser.on('warn', (code: string, message: string | Error) => { problem ??= `the archive is damaged: ${code} ${message instanceof Error ? message.message : message}`; });
    parser.on('end', () => resolve(problem === undefined ? { ok: true, value: items } : { ok: false, error: problem }));
    parser.end(archive);
  });
}

/**
 * Replaces `target` with the bundle's contents (a file and a directory of
 * the same name, or a file inside a file, are refused). Written into a
 * fresh directory under `stagingRoot` first and renamed into place, so a
 * refused or failed unpack leaves no partial bundle behind. `stagingRoot`
 * must be the agent's own (on the same filesystem as `target`): `target`
 * may lie in a node's directory, which the node's user could rearrange
 * under an unpack running there.
 */
export async function unpackBundle(archive: Buffer, target: string, stagingRoot: string): Promise<Outcome<number>> {
  const read = await readArchive(archive);
  if (!read.ok) return read;
  mkdirSync(stagingRoot, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(stagingRoot, 'unpacking-'));
  try {
    chmodSync(staging, 0o755);
    const kinds = new Map<string, boolean>();
    const claim = (parts: string[], dir: boolean): void => {
      for (let i = 1; i <= parts.length; i++) {
        const key = parts.slice(0, i).join('/');
        const isDir = i < parts.length || dir;
        const was = kinds.get(key);
        if (was !== undefined && was !== isDir) throw new Error(`entry ${JSON.stringify(key)} is both a file and a directory`);
        kinds.set(key, isDir);
      }
    };
    let files = 0;
    for (const item of read.value) {
      claim(item.parts, item.dir);
      const path = join(staging, ...item.parts);
      if (item.dir) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        continue;
      }
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o755 });
      writeFileSync(path, item.body!, { flag: 'wx', mode: item.mode });
      files += 1;
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { ok: true, value: files };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    return { ok: false, error: (err as Error).message };
  }
}
