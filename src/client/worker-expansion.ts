/**
 * zeekctl's worker expansion, ours in the cluster file: a worker section with
 * `lb_procs = N` becomes nodes `<name>-1` … `<name>-N` (zeekctl's names),
 * all capturing on the section's interface.
 *
 * - `lb_method = af_packet`: the interface becomes `af_packet::<interface>`
 *   and the workers share one AF_PACKET fanout group: `af_packet_fanout_id`,
 *   or else one of their own per instance (23, zeek's default, for the first
 *   such section of an instance, 24 for the next…: two groups on one host
 *   must differ, which zeekctl leaves to the operator), and
 *   `af_packet_fanout_mode` when given.
 * - `lb_method = custom`: the interface as written (a packet source with its
 *   own load balancing, e.g. `af_packet::eth0` with explicit fanout keys).
 * - `pin_cpus = 0,2,…`: one CPU per process, in order (a worker without
 *   lb_procs takes the first); a CPU listed twice, or fewer CPUs than
 *   processes, is refused (zeekctl wraps around, pinning two workers to one
 *   CPU). Whether the CPUs exist is for the agent to say: it knows its host.
 */
import { FANOUT_ID, NODE_OPTIONS } from '../management/node-options.js';
import type { Node, NodeOption } from '../management/types.js';

export const LB_KEYS = ['lb_procs', 'lb_method', 'pin_cpus'] as const;
export const LB_METHODS = ['af_packet', 'custom'] as const;
/** zeek's default fanout group id (AF_Packet::fanout_id). */
export const DEFAULT_FANOUT_ID = 23;
const MAX_LB_PROCS = 1024;

/** A section's load-balancing keys, as written (with their lines, for errors). */
export interface LoadBalancing {
  procs?: { value: string; line: number };
  method?: { value: string; line: number };
  pinCpus?: { value: string; line: number };
  /** The section's header line. */
  line: number;
}

export type Fail = (line: number, message: string) => never;

/** The nodes of one section, expanded (a section without lb keys is itself). */
interface Expansion { node: Node; lb: LoadBalancing }

/**
 * Expands every section's node; `fail` throws. Runs over all sections at
 * once: fanout ids are assigned per instance and names must not collide.
 */
export function expandWorkers(sections: readonly Expansion[], fail: Fail, warnings: string[]): Node[] {
  const usedIds = new Map<string, Set<string>>();
  for (const { node } of sections) {
    const id = node.options?.find((o) => o.name === FANOUT_ID)?.value;
    if (id !== undefined) usedIds.set(node.instance, (usedIds.get(node.instance) ?? new Set()).add(id));
  }
  const nodes: Node[] = [];
  const origin = new Map<string, number>();
  for (const { node, lb } of sections) {
    for (const n of expandOne(node, lb, fail, warnings, usedIds)) {
      const earlier = origin.get(n.name);
      if (earlier !== undefined) fail(lb.line, `node "${n.name}" ${n.name === node.name ? '' : `(made by lb_procs of "${node.name}") `}is also defined by the section at line ${earlier}`);
      origin.set(n.name, lb.line);
      nodes.push(n);
    }
  }
  return nodes;
}

function expandOne(node: Node, lb: LoadBalancing, fail: Fail, warnings: string[], usedIds: Map<string, Set<string>>): Node[] {
  const where = `node "${node.name}"`;
  const { procs: procsAt, method: methodAt, pinCpus } = lb;
  if ((procsAt ?? methodAt ?? pinCpus) !== undefined && node.role !== 'WORKER') {
    fail((procsAt ?? methodAt ?? pinCpus)!.line, `${where}: lb_procs, lb_method and pin_cpus are for workers only`);
  }
  if (methodAt && !procsAt) fail(methodAt.line, `${where}: lb_method needs lb_procs (the number of processes)`);
  const procs = procsAt ? count(procsAt, where, fail) : 1;
  const cpus = pinCpus ? cpuList(pinCpus, where, fail) : undefined;
  if (cpus && node.cpuAffinity !== undefined) fail(pinCpus!.line, `${where}: give either pin_cpus or cpu_affinity, not both`);
  if (cpus && cpus.length < procs) {
    fail(pinCpus!.line, `${where}: pin_cpus lists ${cpus.length} CPU${cpus.length === 1 ? '' : 's'} for ${procs} processes; each process needs a CPU of its own`);
  }
  if (cpus && cpus.length > procs) warnings.push(`${where}: pin_cpus lists ${cpus.length} CPUs for ${procs} process${procs === 1 ? '' : 'es'}; CPUs ${cpus.slice(procs).join(',')} are not used`);
  if (!procsAt) return [cpus ? { ...node, cpuAffinity: cpus[0]! } : node];
  if (!methodAt) fail(procsAt.line, `${where}: lb_procs needs an lb_method (${LB_METHODS.join(' or ')})`);
  const method = methodAt.value.trim().toLowerCase();
  if (!(LB_METHODS as readonly string[]).includes(method)) {
    fail(methodAt.line, `${where}: lb_method "${methodAt.value}" is not supported; use ${LB_METHODS.join(' or ')} (custom: the interface as written, e.g. a packet source of its own)`);
  }
  let options = node.options ?? [];
  let iface = node.interface;
  if (method === 'af_packet') {
    if (iface === undefined || iface.trim() === '') fail(lb.line, `${where}: lb_method af_packet needs an interface`);
    if (iface.includes('::')) fail(methodAt.line, `${where}: with lb_method af_packet give the bare interface ("${iface.slice(iface.lastIndexOf('::') + 2)}"), the af_packet:: prefix is added`);
    iface = `af_packet::${iface}`;
    if (!options.some((o) => o.name === FANOUT_ID)) options = [...options, { name: FANOUT_ID, value: freeFanoutId(node.instance, usedIds) }];
  }
  return Array.from({ length: procs }, (_, i): Node => {
    const n: Node = { ...node, name: `${node.name}-${i + 1}`, env: { ...node.env } };
    if (iface !== undefined) n.interface = iface;
    if (options.length > 0) n.options = options.map((o): NodeOption => ({ ...o }));
    if (cpus) n.cpuAffinity = cpus[i]!;
    return n;
  });
}

function count(at: { value: string; line: number }, where: string, fail: Fail): number {
  const t = at.value.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > MAX_LB_PROCS) fail(at.line, `${where}: lb_procs must be a whole number from 1 to ${MAX_LB_PROCS}, got "${at.value}"`);
  return Number(t);
}

function cpuList(at: { value: string; line: number }, where: string, fail: Fail): number[] {
  const items = at.value.split(',').map((s) => s.trim());
  if (items.some((s) => !/^\d{1,5}$/.test(s))) fail(at.line, `${where}: pin_cpus must be a comma-separated list of CPU numbers (0, 1, …), got "${at.value}"`);
  const cpus = items.map(Number);
  const twice = cpus.filter((c, i) => cpus.indexOf(c) !== i);
  if (twice.length > 0) fail(at.line, `${where}: pin_cpus lists CPU ${twice[0]} more than once; each process needs a CPU of its own`);
  return cpus;
}

/** The next fanout id not yet used on this instance, from zeek's default up. */
function freeFanoutId(instance: string, usedIds: Map<string, Set<string>>): string {
  const used = usedIds.get(instance) ?? new Set<string>();
  let id = DEFAULT_FANOUT_ID;
  while (used.has(String(id))) id += 1;
  usedIds.set(instance, used.add(String(id)));
  return String(id);
}

/** The INI keys that set node options (`af_packet_fanout_id`, …). */
export const OPTION_KEYS: readonly string[] = Object.values(NODE_OPTIONS).map((r) => r.iniKey);
