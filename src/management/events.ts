/**
 * Typed event definitions: each event knows its name and how to encode and
 * decode its arguments, so handlers get typed values and malformed events
 * (wrong arity, wrong types) are rejected at the boundary with a path.
 */
import { DecodeError } from '../protocol/errors.js';
import type { ZeekEvent } from '../protocol/event.js';
import { bool, count, str, type Value } from '../protocol/values.js';

export interface Codec<T> {
  readonly encode: (v: T) => Value;
  readonly decode: (v: Value | undefined, path: string) => T;
  /** Used when a trailing argument is missing (Zeek's `&default`). */
  readonly default?: () => T;
}

export type Codecs<A extends readonly unknown[]> = { readonly [K in keyof A]: Codec<A[K]> };

export interface EventSpec<A extends readonly unknown[]> {
  readonly name: string;
  make(...args: A): ZeekEvent;
  /** Throws DecodeError on wrong arity or types. */
  decode(event: ZeekEvent): A;
}

export function defineEvent<A extends readonly unknown[]>(name: string, ...codecs: Codecs<A>): EventSpec<A> {
  const list = codecs as unknown as readonly Codec<unknown>[];
  const required = list.filter((c) => c.default === undefined).length;
  return {
    name,
    make: (...args: A): ZeekEvent => ({ name, args: list.map((c, i) => c.encode(args[i])) }),
    decode(event: ZeekEvent): A {
      const n = event.args.length;
      if (n < required || n > list.length) {
        const want = required === list.length ? `${required}` : `${required} to ${list.length}`;
        throw new DecodeError('args', `${name} takes ${want} argument${list.length === 1 ? '' : 's'}, got ${n}`);
      }
      return list.map((c, i) => (i < n || !c.default ? c.decode(event.args[i], `args[${i}]`) : c.default())) as unknown as A;
    },
  };
}

export function withDefault<T>(codec: Codec<T>, make: () => T): Codec<T> {
  return { ...codec, default: make };
}

export const stringCodec: Codec<string> = {
  encode: str,
  decode: (v, path) => {
    if (v?.type !== 'string') throw new DecodeError(path, `expected string, got ${v?.type ?? 'nothing'}`);
    return v.value;
  },
};

export const boolCodec: Codec<boolean> = {
  encode: bool,
  decode: (v, path) => {
    if (v?.type !== 'boolean') throw new DecodeError(path, `expected bool, got ${v?.type ?? 'nothing'}`);
    return v.value;
  },
};

export const countCodec: Codec<number> = {
  encode: (n) => count(n),
  decode: (v, path) => {
    if (v?.type !== 'count' && v?.type !== 'integer') throw new DecodeError(path, `expected count, got ${v?.type ?? 'nothing'}`);
    return Number(v.value);
  },
};

/** Carries any value through untouched (Result's `any`). */
export const anyCodec: Codec<Value> = {
  encode: (v) => v,
  decode: (v, path) => {
    if (v === undefined) throw new DecodeError(path, 'missing value');
    return v;
  },
};
