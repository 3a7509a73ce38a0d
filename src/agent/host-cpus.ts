/**
 * The CPUs this agent may pin nodes to: the agent's own allowed set
 * (`Cpus_allowed_list` in /proc/self/status, which taskset's children
 * inherit and cannot leave), else every CPU the system reports.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** `0-3,8,10-11` → [0, 1, 2, 3, 8, 10, 11]; undefined when it is not such a list. */
export function parseCpuList(text: string): number[] | undefined {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 65536) return undefined;
    for (let c = from; c <= to; c++) out.push(c);
  }
  return out;
}

export function hostCpus(statusFile = '/proc/self/status'): number[] {
  try {
    const line = readFileSync(statusFile, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    const list = line ? parseCpuList(line.slice(line.indexOf(':') + 1)) : undefined;
    if (list && list.length > 0) return list;
  } catch {
    // not Linux, or no /proc: fall through
  }
  return cpus().map((_, i) => i);
}

/** `0-3,8` for messages. */
export function formatCpuList(list: readonly number[]): string {
  const sorted = [...new Set(list)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return ranges.join(',');
}
