/**
 * JSON text exactly as zeek-client prints it with Python's
 * `json.dumps(obj, sort_keys=True, indent=2 or None)`: sorted keys, `", "`
 * and `": "` separators when compact, non-ASCII escaped as \uXXXX.
 */
import { isLosslessNumber } from '../protocol/wire-json.js';

export function pythonJson(value: unknown, pretty: boolean): string {
  return write(value, pretty ? 0 : undefined);
}

function write(value: unknown, level: number | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return quote(value);
  if (isLosslessNumber(value)) return value.value;
  const nl = level === undefined ? '' : `\n${'  '.repeat(level + 1)}`;
  const end = level === undefined ? '' : `\n${'  '.repeat(level)}`;
  const sep = level === undefined ? ', ' : ',';
  const inner = level === undefined ? undefined : level + 1;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${value.map((v) => nl + write(v, inner)).join(sep)}${end}]`;
  }
  const keys = Object.keys(value as object).sort(comparePython);
  if (keys.length === 0) return '{}';
  return `{${keys.map((k) => `${nl}${quote(k)}: ${write((value as Record<string, unknown>)[k], inner)}`).join(sep)}${end}}`;
}

/** Python sorts strings by code point, JavaScript's default sort by UTF-16 unit; they differ only beyond the BMP. */
function comparePython(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
