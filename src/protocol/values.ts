/**
 * Broker's data model as typed values. Every value carries its Broker type
 * tag, so encoding is exact and nothing is inferred from JavaScript types.
 * Counts, integers and timespans are bigints: Broker's 64-bit numbers must
 * keep their exact value.
 */

export type PortProtocol = 'tcp' | 'udp' | 'icmp' | 'unknown';

export interface Port {
  readonly number: number;
  readonly protocol: PortProtocol;
}

export type Value =
  | { readonly type: 'none' }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'count'; readonly value: bigint }
  | { readonly type: 'integer'; readonly value: bigint }
  | { readonly type: 'real'; readonly value: number }
  /** Nanoseconds. */
  | { readonly type: 'timespan'; readonly value: bigint }
  /** ISO 8601 as Broker renders it, e.g. `2022-04-10T07:00:00.000`. */
  | { readonly type: 'timestamp'; readonly value: string }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'enum-value'; readonly value: string }
  | { readonly type: 'address'; readonly value: string }
  | { readonly type: 'subnet'; readonly value: string }
  | { readonly type: 'port'; readonly value: Port }
  | { readonly type: 'vector'; readonly value: readonly Value[] }
  | { readonly type: 'set'; readonly value: readonly Value[] }
  | { readonly type: 'table'; readonly value: readonly (readonly [Value, Value])[] };

export type ValueType = Value['type'];

const NONE: Value = Object.freeze({ type: 'none' });

export const none = (): Value => NONE;
export const bool = (value: boolean): Value => ({ type: 'boolean', value });
export const count = (value: number | bigint): Value => ({ type: 'count', value: BigInt(value) });
export const integer = (value: number | bigint): Value => ({ type: 'integer', value: BigInt(value) });
export const real = (value: number): Value => ({ type: 'real', value });
export const timespan = (nanoseconds: bigint): Value => ({ type: 'timespan', value: nanoseconds });
export const timestamp = (iso: string): Value => ({ type: 'timestamp', value: iso });
export const str = (value: string): Value => ({ type: 'string', value });
export const enumValue = (value: string): Value => ({ type: 'enum-value', value });
export const address = (value: string): Value => ({ type: 'address', value });
export const subnet = (value: string): Value => ({ type: 'subnet', value });
export const port = (number: number, protocol: PortProtocol = 'tcp'): Value => ({ type: 'port', value: { number, protocol } });
export const vector = (value: readonly Value[]): Value => ({ type: 'vector', value });
export const set = (value: readonly Value[]): Value => ({ type: 'set', value });
export const table = (value: readonly (readonly [Value, Value])[]): Value => ({ type: 'table', value });

/** Optional record field: `none` when absent. */
export function optional<T>(v: T | undefined, make: (v: T) => Value): Value {
  return v === undefined ? NONE : make(v);
}

export function portToString(p: Port): string {
  return `${p.number}/${p.protocol === 'unknown' ? '?' : p.protocol}`;
}

/** Structural equality of two values (sets and tables compare in order). */
export function valueEquals(a: Value, b: Value): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'none':
      return true;
    case 'port': {
      const q = (b as typeof a).value;
      return a.value.number === q.number && a.value.protocol === q.protocol;
    }
    case 'real':
      return Object.is(a.value, (b as typeof a).value) || a.value === (b as typeof a).value;
    case 'vector':
    case 'set': {
      const q = (b as typeof a).value;
      return a.value.length === q.length && a.value.every((x, i) => valueEquals(x, q[i] as Value));
    }
    case 'table': {
      const q = (b as typeof a).value;
      return a.value.length === q.length &&
        a.value.every(([k, v], i) => valueEquals(k, (q[i] as [Value, Value])[0]) && valueEquals(v, (q[i] as [Value, Value])[1]));
    }
    default:
      return a.value === (b as { value: unknown }).value;
  }
}
