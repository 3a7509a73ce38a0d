/** Small helpers shared by the benchmarks: timing, percentiles, table output. */
export interface Row {
  benchmark: string;
  product: number;
  floor?: number;
  unit: string;
  /** What the ratio product/floor should stay under (or the absolute target). */
  target: string;
  note?: string;
  /** Why it was not measured here (a tool that is not installed); shown in place of the figures. */
  skipped?: string;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type RoundTrip = () => Promise<void>;

async function measure(n: number, roundTrip: RoundTrip, samples: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await roundTrip();
    samples.push(nowMs() - t0);
  }
}

/**
 * Alternates the two round trips one by one, after a warm-up of each, so
 * whatever the shared machine does at any moment (other jobs, CPU
 * placement, frequency) hits both alike.
 */
export async function interleaved(n: number, a: RoundTrip, b: RoundTrip, warmup = Math.min(500, n)): Promise<[number[], number[]]> {
  const sa: number[] = [];
  const sb: number[] = [];
  await measure(warmup, a, []);
  await measure(warmup, b, []);
  for (let i = 0; i < n; i++) {
    await measure(1, a, sa);
    await measure(1, b, sb);
  }
  return [sa, sb];
}

export function ratio(row: Row): number | undefined {
  return row.floor === undefined || row.floor === 0 ? undefined : row.product / row.floor;
}

/**
 * Whether a row meets its target, read from the target text: `≤ 2×`
 * compares the ratio, `< 100 ms` or `≤ 100 KB` the product's figure.
 */
export function meetsTarget(row: Row): boolean | undefined {
  const m = /^([≤<≥>])\s*([\d.]+)\s*(×)?/.exec(row.target);
  if (!m) return undefined;
  const value = m[3] ? ratio(row) : row.product;
  if (value === undefined || !Number.isFinite(value)) return undefined;
  const limit = Number(m[2]);
  switch (m[1]) {
    case '≤': return value <= limit;
    case '<': return value < limit;
    case '≥': return value >= limit;
    default: return value > limit;
  }
}

/** A benchmark that broke part-way: the rows it did measure, and why it stopped. */
export class BenchFailure extends Error {
  constructor(readonly rows: Row[], message: string) {
    super(message);
  }
}

/** `judge: false` (quick runs, sizes too small) leaves the met column empty. */
export function formatTable(rows: Row[], judge = true): string {
  const head = ['benchmark', 'product', 'floor (same run)', 'ratio', 'target', 'met'];
  const body = rows.map((r) => {
    const q = ratio(r);
    if (r.skipped) return [r.benchmark, 'skipped', '—', '—', r.target, `— (${r.skipped})`];
    return [
      r.benchmark,
      `${fmt(r.product)} ${r.unit}`,
      r.floor === undefined ? '—' : `${fmt(r.floor)} ${r.unit}`,
      q === undefined ? '—' : `${q.toFixed(2)}×`,
      r.target,
      judge ? { true: 'yes', false: 'NO', undefined: '?' }[String(meetsTarget(r)) as 'true' | 'false' | 'undefined'] : '—',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 100) return n.toFixed(0);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}
