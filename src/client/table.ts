/** `get-nodes --table`: the node status as aligned columns for people. */
import { printable } from '../management/printable.js';
import type { NodeRow } from './results.js';

const COLUMNS: [string, (r: NodeRow) => string][] = [
  ['INSTANCE', (r) => r.instance],
  ['NODE', (r) => r.node],
  ['ROLE', (r) => (r.cluster_role ?? r.mgmt_role ?? '-').toLowerCase()],
  ['STATE', (r) => r.state],
  ['PID', (r) => (r.pid === undefined ? '-' : String(r.pid))],
  ['PORT', (r) => [r.port === undefined ? '-' : String(r.port), ...Object.entries(r.backend_ports ?? {}).map(([k, p]) => `${k} ${p}`)].join(', ')],
  ['METRICS', (r) => (r.metrics_port === undefined ? '-' : String(r.metrics_port))],
];

export function renderNodeTable(rows: readonly NodeRow[], errors: readonly { source: string | null; error: string | null }[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => printable(f(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  let out = cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
  for (const e of errors) out += printable(`error from ${e.source ?? 'controller'}: ${e.error ?? 'no reason given'}`) + '\n';
  return out;
}
