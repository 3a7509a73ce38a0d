/**
 * `df` for one instance: the disk space taken by the agent's areas — its
 * state (node directories, stored configuration, bundles), its spool (the
 * log queue and the rest) and the archived logs — each counted once, as
 * `du` counts (allocated blocks), and the free space of the filesystem
 * each is on. An area inside another is not counted in the outer one.
 */
import { lstat, opendir, statfs } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { AreaUse } from '../management/index.js';

export interface Area { name: string; path: string }


const inside = (path: string, dir: string): boolean => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
};

async function usage(dir: string, skip: readonly string[]): Promise<{ bytes: number; files: number }> {
  const total = { bytes: 0, files: 0 };
  const walk = async (at: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(at);
    } catch {
      return; // gone meanwhile, or unreadable: counts as nothing
    }
    for await (const entry of handle) {
      const path = join(at, entry.name);
      if (skip.includes(path)) continue;
      try {
        const st = await lstat(path);
        total.bytes += st.blocks * 512;
        if (entry.isDirectory()) await walk(path);
        else total.files += 1;
      } catch {
        // removed while we looked
      }
    }
  };
  await walk(dir);
  return total;
}

/** The filesystem a path is (or would be, when it does not exist yet) on. */
async function filesystemOf(path: string): Promise<{ blocks: number; bsize: number; bavail: number } | undefined> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return await statfs(at);
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
}

export async function diskUse(areas: readonly Area[]): Promise<AreaUse[]> {
  return Promise.all(areas.map(async (area) => {
    const nested = areas.filter((a) => a !== area && a.path !== area.path && inside(a.path, area.path)).map((a) => a.path);
    const [used, fs] = await Promise.all([usage(area.path, nested), filesystemOf(area.path)]);
    return {
      ...area, ...used,
      fsSize: fs ? fs.blocks * fs.bsize : 0,
      fsFree: fs ? fs.bavail * fs.bsize : 0,
    };
  }));
}
