/**
 * A node's `options` (the Management::Node record's `set[Option]`, which the
 * original never used): Zeek constants set for that node alone, as zeekctl's
 * `af_packet_*` node keys set them. Only the options listed here are
 * accepted, each with the one form of value it takes, because every value
 * ends up as Zeek code (`redef NAME = VALUE;`) run by the agent's zeek.
 * The controller refuses anything else at staging; the agent checks again.
 */
import type { Node, NodeOption } from './types.js';

export const FANOUT_MODES = ['FANOUT_HASH', 'FANOUT_CPU', 'FANOUT_QM'] as const;

interface OptionRule {
  /** The INI key of a node section (zeekctl's node.cfg key). */
  readonly iniKey: string;
  /** What a value must look like, for messages. */
  readonly expects: string;
  /** The value as Zeek code, or undefined when it is not acceptable. */
  readonly zeek: (value: string) => string | undefined;
}

const countUpTo = (max: number) => (v: string): string | undefined => (/^\d{1,10}$/.test(v) && Number(v) <= max ? String(Number(v)) : undefined);
const bool = (v: string): string | undefined => ({ T: 'T', F: 'F', true: 'T', false: 'F' } as Record<string, string>)[v];
const fanoutMode = (v: string): string | undefined => {
  const bare = v.startsWith('AF_Packet::') ? v.slice('AF_Packet::'.length) : v;
  return (FANOUT_MODES as readonly string[]).includes(bare) ? `AF_Packet::${bare}` : undefined;
};

export const NODE_OPTIONS: Readonly<Record<string, OptionRule>> = {
  'AF_Packet::fanout_id': { iniKey: 'af_packet_fanout_id', expects: 'a fanout group id, 0 to 65535', zeek: countUpTo(65535) },
  'AF_Packet::fanout_mode': { iniKey: 'af_packet_fanout_mode', expects: `one of ${FANOUT_MODES.join(', ')}`, zeek: fanoutMode },
  'AF_Packet::enable_fanout': { iniKey: 'af_packet_enable_fanout', expects: 'T or F', zeek: bool },
  'AF_Packet::buffer_size': { iniKey: 'af_packet_buffer_size', expects: 'a ring buffer size in bytes, at most 4294967295', zeek: countUpTo(4294967295) },
};

export const FANOUT_ID = 'AF_Packet::fanout_id';

/** The option of a node section's INI key, e.g. `af_packet_fanout_id` → `AF_Packet::fanout_id`. */
export function optionOfIniKey(key: string): string | undefined {
  return Object.keys(NODE_OPTIONS).find((name) => NODE_OPTIONS[name]!.iniKey === key);
}

/** The option as a `redef` line, or why it cannot be one. */
export function optionRedef(o: NodeOption): { ok: true; line: string } | { ok: false; error: string } {
  const rule = NODE_OPTIONS[o.name];
  if (!rule) return { ok: false, error: `option ${JSON.stringify(o.name)} is not one zeek-mgmt sets (known: ${Object.keys(NODE_OPTIONS).join(', ')})` };
  const value = rule.zeek(o.value);
  return value === undefined
    ? { ok: false, error: `option ${o.name} = ${JSON.stringify(o.value)} is invalid: expected ${rule.expects}` }
    : { ok: true, line: `redef ${o.name} = ${value};` };
}

/** Every problem with a node's options, as messages naming the node. */
export function nodeOptionProblems(node: Node): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of node.options ?? []) {
    if (seen.has(o.name)) problems.push(`node '${node.name}' sets option ${o.name} more than once`);
    seen.add(o.name);
    const r = optionRedef(o);
    if (!r.ok) problems.push(`node '${node.name}': ${r.error}`);
  }
  return problems;
}

/** The value of one option of a node. */
export const optionValue = (node: Node, name: string): string | undefined => node.options?.find((o) => o.name === name)?.value;
