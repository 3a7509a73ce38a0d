/**
 * `df`: disk use per instance — the agent's state directory, spool and
 * archived logs — as JSON (`{"results": {instance: {area: {...}}}, "errors": [...]}`)
 * or a table for people.
 */
import { decodeDiskUse } from '../management/records.js';
import { formatBytes } from '../management/bundle.js';
import type { AreaUse, Result } from '../management/types.js';
import { describeError, type Shaped } from './results.js';
import { renderColumns, renderErrors } from './table.js';

export interface DfRow extends AreaUse { instance: string }

type DfErrors = { source: string | null; error: string }[];

export function dfJson(results: readonly Result[]): Shaped & { rows: DfRow[]; errors: DfErrors } {
  const json = { results: {} as Record<string, Record<string, unknown>>, errors: [] as DfErrors };
  const rows: DfRow[] = [];
  const warnings: string[] = [];
  let exitCode = 0;
  for (const r of [...results].sort((a, b) => ((a.instance ?? '') < (b.instance ?? '') ? -1 : 1))) {
    if (!r.success) {
      exitCode = 1;
      json.errors.push({ source: r.instance ?? null, error: r.error || 'no reason given' });
      continue;
    }
    if (r.instance === undefined) continue;
    let areas: AreaUse[];
    try {
      areas = decodeDiskUse(r.data, 'data');
    } catch (err) {
      warnings.push(`instance ${r.instance}: unexpected df data (${(err as Error).message})`);
      continue;
    }
    const entry: Record<string, unknown> = {};
    for (const a of areas) {
      entry[a.name] = { path: a.path, bytes: a.bytes, files: a.files, fs_size_bytes: a.fsSize, fs_free_bytes: a.fsFree };
      rows.push({ ...a, instance: r.instance });
    }
    json.results[r.instance] = entry;
  }
  return { json, exitCode, warnings, failures: json.errors.map(describeError), rows, errors: json.errors };
}

export function renderDfTable(rows: readonly DfRow[], errors: readonly { source: string | null; error: string }[]): string {
  const pct = (a: AreaUse): string => (a.fsSize > 0 ? `${Math.round((100 * (a.fsSize - a.fsFree)) / a.fsSize)}%` : '-');
  return renderColumns([
    ['INSTANCE', 'AREA', 'USED', 'FILES', 'FS FREE', 'FS USE', 'PATH'],
    ...rows.map((r) => [r.instance, r.name, formatBytes(r.bytes), String(r.files), formatBytes(r.fsFree), pct(r), r.path]),
  ]) + renderErrors(errors);
}
