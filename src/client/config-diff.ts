/**
 * `diff-config`: what changed between two configurations, by the sections
 * of their INI form (what get-config prints): sections added, removed, and
 * keys changed within a section. Any field the INI form has is compared,
 * so new ones are covered without change here.
 */
import type { Configuration } from '../management/types.js';
import { renderClusterConfig } from './cluster-config.js';
import { parseIni } from './ini.js';
import { printable } from '../management/printable.js';

type Sections = Map<string, Map<string, string>>;

function sections(config: Configuration): Sections {
  const parsed = parseIni(renderClusterConfig(config));
  // Our own rendering always parses.
  if (!parsed.ok) throw new Error(`internal error: the INI form of ${config.id} does not parse: ${parsed.error.message}`);
  return new Map(parsed.doc.sections.map((s) => [s.name, new Map(s.entries.map((e) => [e.key, e.value ?? '']))]));
}

const show = (entries: Map<string, string>, mark: string): string[] => [...entries].map(([k, v]) => `${mark}   ${v === '' ? k : `${k} = ${v}`}`);

export function describeDiff(from: Configuration, to: Configuration): string {
  const a = sections(from);
  const b = sections(to);
  const lines = [`--- configuration ${from.id}`, `+++ configuration ${to.id}`];
  const names = [...new Set([...a.keys(), ...b.keys()])];
  let changes = 0;
  for (const name of names) {
    const before = a.get(name);
    const after = b.get(name);
    if (!before) { lines.push(`+ [${name}]`, ...show(after!, '+')); changes++; continue; }
    if (!after) { lines.push(`- [${name}]`, ...show(before, '-')); changes++; continue; }
    const keys = [...new Set([...before.keys(), ...after.keys()])];
    const changed = keys.filter((k) => before.get(k) !== after.get(k));
    if (changed.length === 0) continue;
    changes++;
    lines.push(`~ [${name}]`);
    for (const k of changed) {
      const [x, y] = [before.get(k), after.get(k)];
      lines.push(x === undefined ? `+   ${k} = ${y}` : y === undefined ? `-   ${k} = ${x}` : `~   ${k}: ${x} -> ${y}`);
    }
  }
  if (changes === 0) lines.push('no differences');
  // Values are the configurations' (env, scripts): each line printable.
  return `${lines.map(printable).join('\n')}\n`;
}
