/**
 * Zeek events in Broker's data model:
 * `vector[count 1, count 1, vector[string NAME, vector ARGS, (vector METADATA)]]`.
 */
import { DecodeError } from './errors.js';
import type { Value } from './values.js';
import { count, str, vector } from './values.js';

export interface ZeekEvent {
  readonly name: string;
  readonly args: readonly Value[];
  /** Present when the sender attached metadata (newer Zeek does). */
  readonly metadata?: readonly Value[];
}

export function encodeEvent(event: ZeekEvent): Value {
  const body: Value[] = [str(event.name), vector(event.args)];
  if (event.metadata) body.push(vector(event.metadata));
  return vector([count(1), count(1), vector(body)]);
}

function isOne(v: Value | undefined): boolean {
  return v?.type === 'count' && v.value === 1n;
}

/** Reads an event out of a data message's value; extra trailing elements are tolerated. */
export function decodeEvent(v: Value): ZeekEvent {
  if (v.type !== 'vector' || v.value.length < 3) throw new DecodeError('', 'not a Zeek event: expected vector [1, 1, [name, args]]');
  if (!isOne(v.value[0]) || !isOne(v.value[1])) throw new DecodeError('', 'not a Zeek event: format/type tags must be count 1');
  const body = v.value[2]!;
  if (body.type !== 'vector' || body.value.length < 2) throw new DecodeError('', 'not a Zeek event: expected [name, args]');
  const [name, args, metadata] = body.value;
  if (name?.type !== 'string') throw new DecodeError('name', `expected string, got ${name?.type}`);
  if (args?.type !== 'vector') throw new DecodeError('args', `expected vector, got ${args?.type}`);
  const event: ZeekEvent = { name: name.value, args: args.value };
  if (metadata?.type === 'vector') return { ...event, metadata: metadata.value };
  return event;
}
