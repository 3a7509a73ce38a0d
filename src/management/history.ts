/**
 * Ours: one deployment of the controller's history as get_deployments
 * sends it — `[id, config_id, kind, who?, started, ended?, outcome?,
 * nodes table[string] of [success bool, error string?], errors vector<string>]`.
 */
import { DecodeError, decodePart } from '../protocol/errors.js';
import { bool, optional, str, table, vector, type Value } from '../protocol/values.js';
import { encodeTime, readBool, readList, readString, readTime } from './records.js';
import type { Result } from './types.js';

export interface NodeOutcome {
  success: boolean;
  error?: string;
}

export interface DeploymentInfo {
  id: string;
  configId: string;
  /** deploy, rollback, auto-rollback, bring-back. */
  kind: string;
  who?: string;
  /** ISO 8601. */
  started: string;
  ended?: string;
  /** success, failure, timeout; absent while it runs. */
  outcome?: string;
  /** Per node. */
  nodes: Record<string, NodeOutcome>;
  /** Failures that name no node (an instance that did not check in, a timeout). */
  errors: string[];
}

/** The per-node outcomes and other errors of a deployment's Results. */
export function outcomesOf(results: readonly Result[]): Pick<DeploymentInfo, 'nodes' | 'errors'> {
  const nodes: Record<string, NodeOutcome> = {};
  const errors: string[] = [];
  for (const r of results) {
    if (r.node !== undefined) nodes[r.node] = r.success ? { success: true } : { success: false, error: r.error ?? 'no reason given' };
    else if (!r.success) errors.push(r.instance ? `${r.instance}: ${r.error ?? 'no reason given'}` : r.error ?? 'no reason given');
  }
  return { nodes, errors };
}

export function encodeDeploymentInfo(d: DeploymentInfo): Value {
  return vector([
    str(d.id), str(d.configId), str(d.kind), optional(d.who, str), encodeTime(d.started), optional(d.ended, encodeTime), optional(d.outcome, str),
    table(Object.entries(d.nodes).map(([n, o]) => [str(n), vector([bool(o.success), optional(o.error, str)])] as const)),
    vector(d.errors.map(str)),
  ]);
}

export function decodeDeploymentInfo(v: Value | undefined, path: string): DeploymentInfo {
  if (v?.type !== 'vector' || v.value.length < 9) throw new DecodeError(path, 'expected a deployment record of 9 fields');
  const f = v.value;
  const at = (i: number): string => `${path}[${i}]`;
  const opt = <T>(x: Value | undefined, read: (x: Value, p: string) => T, p: string): T | undefined => (x === undefined || x.type === 'none' ? undefined : read(x, p));
  const d: DeploymentInfo = {
    id: readString(f[0], at(0)), configId: readString(f[1], at(1)), kind: readString(f[2], at(2)), started: readTime(f[4], at(4)),
    nodes: {}, errors: readList(f[8], at(8), 'vector').map((x, i) => readString(x, `${at(8)}[${i}]`)),
  };
  const who = opt(f[3], readString, at(3));
  if (who !== undefined) d.who = who;
  const ended = opt(f[5], readTime, at(5));
  if (ended !== undefined) d.ended = ended;
  const outcome = opt(f[6], readString, at(6));
  if (outcome !== undefined) d.outcome = outcome;
  if (f[7]?.type !== 'table') throw new DecodeError(at(7), 'expected table[string] of node outcome');
  f[7].value.forEach(([k, x], i) => {
    const outcome = decodePart((o, p) => {
      const of = readList(o, p, 'vector');
      const error = opt(of[1], readString, `${p}[1]`);
      return { success: readBool(of[0], `${p}[0]`), ...(error === undefined ? {} : { error }) };
    }, x, at(7), i, '.value');
    d.nodes[decodePart(readString, k, at(7), i, '.key')] = outcome;
  });
  return d;
}
