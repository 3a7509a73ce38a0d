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
  // Ours: the node's health.
  ['UPTIME', (r) => (r.uptime_secs === undefined ? '-' : duration(r.uptime_secs))],
  ['CPU', (r) => (r.cpu_percent === undefined ? '-' : `${r.cpu_percent.toFixed(1)}%`)],
  ['RSS', (r) => (r.rss_bytes === undefined ? '-' : bytes(r.rss_bytes))],
  ['RESTARTS', (r) => (r.restarts === undefined ? '-' : String(r.restarts))],
  ['PACKETS', (r) => (r.packets_received === undefined ? '-' : count(r.packets_received))],
  ['DROPPED', (r) => (r.packets_dropped === undefined ? '-' : `${count(r.packets_dropped)} (${dropShare(r.packets_dropped, r.packets_received ?? 0)})`)],
  ['LAST EXIT', (r) => (r.last_exit === undefined ? '-' : `${r.last_exit.description}, ${duration(Math.max(0, (Date.now() - Date.parse(r.last_exit.time)) / 1000))} ago`)],
];

/** 42s, 5m07s, 2h05m, 3d04h. */
export function duration(secs: number): string {
  const s = Math.floor(secs);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** 512K, 123.4M, 1.2G. */
export function bytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.round(n / 1024)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}

/** 950, 12.3k, 4.5M, 6.7G: packet counts. */
export function count(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** Dropped packets as a share of all the interface saw (received + dropped), e.g. 0.02%. */
export function dropShare(dropped: number, received: number): string {
  const seen = received + dropped;
  return seen === 0 ? '0%' : `${((dropped * 100) / seen).toFixed(2)}%`;
}

/** Rows of cells (the first the header) as aligned columns, every cell printable. */
export function renderColumns(cells: readonly (readonly string[])[]): string {
  const shown = cells.map((row) => row.map(printable));
  const widths = shown[0]!.map((_, i) => Math.max(...shown.map((row) => row[i]!.length)));
  return shown.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `error from SOURCE: …` lines under a table, printable. */
export function renderErrors(errors: readonly { source: string | null; error: string | null }[]): string {
  return errors.map((e) => `${printable(`error from ${e.source ?? 'controller'}: ${e.error ?? 'no reason given'}`)}\n`).join('');
}

export function renderNodeTable(rows: readonly NodeRow[], errors: readonly { source: string | null; error: string | null }[]): string {
  return renderColumns([COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))]) + renderErrors(errors);
}
