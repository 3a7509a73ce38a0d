/**
 * INI files read the way Python's `configparser.ConfigParser(allow_no_value=True)`
 * reads them (zeek-client parses both its settings and cluster configurations
 * with it): `[section]` headers, `key = value` or `key: value`, keys
 * lower-cased, bare keys without a value, `#`/`;` comment lines, indented
 * continuation lines, a `[DEFAULT]` section inherited by every other, and
 * `%%` / `%(key)s` interpolation. Unlike configparser, every problem comes
 * back as a value naming the line.
 */

import { quoted } from '../management/printable.js';

export interface IniEntry {
  /** Lower-cased key. */
  readonly key: string;
  /** `undefined` for a bare key (`agent-testbox`). */
  readonly value: string | undefined;
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: IniEntry[];
}

export interface IniDocument {
  /** Sections in file order, without DEFAULT. */
  readonly sections: IniSection[];
  readonly defaults: IniEntry[];
}

export interface IniError {
  readonly line: number;
  readonly message: string;
}

export type IniResult = { ok: true; doc: IniDocument } | { ok: false; error: IniError };

const DEFAULT_SECTION = 'DEFAULT';

interface Open { section: IniSection; entry: { key: string; value: string | undefined; line: number }; indent: number }

export function parseIni(text: string): IniResult {
  const sections: IniSection[] = [];
  const defaults: IniSection = { name: DEFAULT_SECTION, line: 0, entries: [] };
  let current: IniSection | undefined;
  let open: Open | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const stripped = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    if (stripped === '') {
      // Blank lines end a multi-line value unless an indented line follows (configparser keeps them).
      if (open?.entry.value !== undefined) open.entry.value += '\n';
      continue;
    }
    if (stripped.startsWith('#') || stripped.startsWith(';')) continue;
    if (open && indent > open.indent && open.entry.value !== undefined) {
      open.entry.value = `${open.entry.value.replace(/\n+$/, '')}\n${stripped}`;
      continue;
    }
    finish(open);
    open = undefined;
    const header = /^\[(.+)\]$/.exec(raw.trimEnd());
    if (header && indent === 0) {
      const name = header[1]!;
      if (name === DEFAULT_SECTION) {
        current = defaults;
        continue;
      }
      const earlier = sections.find((s) => s.name === name);
      if (earlier) return fail(lineNo, `section [${name}] already defined on line ${earlier.line}`);
      current = { name, line: lineNo, entries: [] };
      sections.push(current);
      continue;
    }
    if (!current) return fail(lineNo, `${quoted(stripped)} appears before any [section] header`);
    const m = /^(.*?)\s*(?:([=:])\s*(.*))?$/.exec(stripped)!;
    const key = m[1]!.trimEnd().toLowerCase();
    if (key === '') return fail(lineNo, `${quoted(stripped)} has no key before the "${m[2]}"`);
    const earlier = current.entries.find((e) => e.key === key);
    if (earlier) return fail(lineNo, `key "${key}" in section [${current.name}] already defined on line ${earlier.line}`);
    const entry = { key, value: m[2] === undefined ? undefined : m[3]!.trim(), line: lineNo };
    current.entries.push(entry);
    open = { section: current, entry, indent };
  }
  finish(open);
  const interpolated = interpolateAll(sections, defaults.entries);
  if (interpolated) return { ok: false, error: interpolated };
  return { ok: true, doc: { sections, defaults: defaults.entries } };
}

function finish(open: Open | undefined): void {
  if (open?.entry.value !== undefined) open.entry.value = open.entry.value.replace(/\n+$/, '');
}

function fail(line: number, message: string): IniResult {
  return { ok: false, error: { line, message } };
}

/** The section's entries with the DEFAULT ones it does not override, as configparser's items(). */
export function effectiveEntries(doc: IniDocument, section: IniSection): IniEntry[] {
  const own = new Set(section.entries.map((e) => e.key));
  return [...doc.defaults.filter((d) => !own.has(d.key)), ...section.entries];
}

function interpolateAll(sections: IniSection[], defaults: IniEntry[]): IniError | undefined {
  for (const section of [{ name: DEFAULT_SECTION, line: 0, entries: defaults }, ...sections]) {
    const scope = new Map<string, IniEntry>();
    for (const e of defaults) scope.set(e.key, e);
    for (const e of section.entries) scope.set(e.key, e);
    for (let i = 0; i < section.entries.length; i += 1) {
      const e = section.entries[i]!;
      if (e.value === undefined || !e.value.includes('%')) continue;
      const out = interpolate(e.value, scope, 0);
      if (typeof out !== 'string') return { line: e.line, message: `key "${e.key}" in section [${section.name}]: ${out.message}` };
      section.entries[i] = { ...e, value: out };
    }
  }
  return undefined;
}

function interpolate(value: string, scope: Map<string, IniEntry>, depth: number): string | { message: string } {
  if (depth > 10) return { message: 'interpolation nests too deeply (a reference loop?)' };
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i]!;
    if (c !== '%') { out += c; continue; }
    const next = value[i + 1];
    if (next === '%') { out += '%'; i += 1; continue; }
    const ref = /^\(([^)]+)\)s/.exec(value.slice(i + 1));
    if (next !== '(' || !ref) return { message: `"%" must be followed by "%" or "(name)s" (write "%%" for a literal percent sign), in ${quoted(value)}` };
    const target = scope.get(ref[1]!.toLowerCase());
    if (target?.value === undefined) return { message: `"%(${ref[1]})s" refers to no key with a value in this section` };
    const expanded = interpolate(target.value, scope, depth + 1);
    if (typeof expanded !== 'string') return expanded;
    out += expanded;
    i += ref[0].length;
  }
  return out;
}

/** Renders sections as configparser's write() does: ` = ` between key and value, a blank line after each section. */
export function renderIni(sections: readonly { name: string; entries: readonly { key: string; value: string | undefined }[] }[]): string {
  let out = '';
  for (const section of sections) {
    out += `[${section.name}]\n`;
    for (const { key, value } of section.entries) {
      out += value === undefined ? `${key}\n` : `${key} = ${value.replace(/\n/g, '\n\t')}\n`;
    }
    out += '\n';
  }
  return out;
}

/** Escapes `%` so the value reads back unchanged through interpolation. */
export function escapeIniValue(value: string): string {
  return value.replace(/%/g, '%%');
}
