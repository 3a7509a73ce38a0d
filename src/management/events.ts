/**
 * Typed event definitions: each event knows its name and how to encode and
 * decode its arguments, so handlers get typed values and malformed events
 * (wrong arity, wrong types) are rejected at the boundary with a path. A
 * request and its response are defined together (defineRequest): both
 * carry the reqid first, and the response carries Results.
 */
import { DecodeError } from '../protocol/errors.js';
import type { ZeekEvent } from '../protocol/event.js';
import { bool, count, str, type Value } from '../protocol/values.js';
import { failure, type Result } from './types.js';

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

/** How a response carries its Results: one Result, or a list of them. */
export interface ResultsCodec<R> extends Codec<R> {
  /** The response value for these Results; a single-Result response carries the last (the verdict). */
  of(results: readonly Result[]): R;
  /** The Results a response value holds. */
  list(value: R): Result[];
}

/**
 * What serving a request does to the system: `read` only reports state
 * (a `viewer` may ask), `write` changes it or runs something (an `operator`
 * only). Every request definition must say which (management/access.ts).
 */
export type Access = 'read' | 'write';

/** A request/response pair, apart from the request's own arguments: what routing, answering and failing need. */
export interface RequestKind {
  /** The pair's name without module and suffix, e.g. `get_nodes`: for logs and per-kind checks. */
  readonly kind: string;
  /** Whether serving it only reads state or changes it: what authorisation checks. */
  readonly access: Access;
  readonly requestName: string;
  readonly responseName: string;
  /** The response event carrying `results`. */
  respond(reqid: string, results: readonly Result[]): ZeekEvent;
  /** The response event carrying one failed Result. */
  fail(reqid: string, error: string, extra?: Partial<Result>): ZeekEvent;
  /** Decodes a response event into its reqid and Results; throws DecodeError. */
  decodeResponse(event: ZeekEvent): [string, Result[]];
}

export interface RequestSpec<A extends readonly unknown[], R> extends RequestKind {
  readonly request: EventSpec<[string, ...A]>;
  readonly response: EventSpec<[string, R]>;
}

/**
 * Defines `<base>_request(reqid, ...args)` and `<base>_response(reqid, reply)`
 * as one pair. Adding a request to an API is one line with this.
 */
export function defineRequest<A extends readonly unknown[], R>(base: string, access: Access, args: Codecs<A>, reply: ResultsCodec<R>): RequestSpec<A, R> {
  const request = defineEvent<[string, ...A]>(`${base}_request`, ...([stringCodec, ...(args as readonly Codec<unknown>[])] as unknown as Codecs<[string, ...A]>));
  const response = defineEvent<[string, R]>(`${base}_response`, stringCodec, reply);
  const respond = (reqid: string, results: readonly Result[]): ZeekEvent => response.make(reqid, reply.of(results));
  return {
    kind: base.slice(base.lastIndexOf('::') + 2),
    access,
    requestName: request.name,
    responseName: response.name,
    request,
    response,
    respond,
    fail: (reqid, error, extra) => respond(reqid, [failure(reqid, error, extra)]),
    decodeResponse(event) {
      const [reqid, value] = response.decode(event);
      return [reqid, reply.list(value)];
    },
  };
}
