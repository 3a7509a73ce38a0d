/**
 * Broker values <-> their JSON wire form (`{"@data-type": …, "data": …}`).
 * Decoding is strict: anything that is not exactly a Broker value raises a
 * DecodeError naming the path, never a silent coercion.
 */
import { isIP } from 'node:net';
import { DecodeError, preview } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Port, PortProtocol, Value } from './values.js';
import { none, portToString } from './values.js';

export interface WireValue {
  '@data-type': string;
  data: unknown;
}

const TIMESPAN_UNITS: readonly (readonly [string, bigint])[] = [
  ['d', 86_400_000_000_000n],
  ['h', 3_600_000_000_000n],
  ['min', 60_000_000_000n],
  ['s', 1_000_000_000n],
  ['ms', 1_000_000n],
  ['us', 1_000n],
  ['ns', 1n],
];
/** Units we write: the ones Broker's documentation lists (no `us`). */
const WRITTEN_UNITS = TIMESPAN_UNITS.filter(([unit]) => unit !== 'us');
const TIMESPAN_RE = /^(-?)(\d+)(?:\.(\d+))?(ns|us|ms|s|min|h|d)$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;
const PORT_RE = /^(\d{1,5})\/(tcp|udp|icmp|\?)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export function encodeTimespan(ns: bigint): string {
  if (ns === 0n) return '0ns';
  for (const [unit, size] of WRITTEN_UNITS) {
    if (ns % size === 0n) return `${ns / size}${unit}`;
  }
  return `${ns}ns`;
}

export function decodeTimespan(text: string, path: string): bigint {
  const m = TIMESPAN_RE.exec(text);
  if (!m) throw new DecodeError(path, `expected timespan, got string ${preview(text)}`);
  const [, sign, whole, frac = '', unit] = m;
  const size = TIMESPAN_UNITS.find(([u]) => u === unit)![1];
  const scale = 10n ** BigInt(frac.length);
  const scaled = BigInt(whole! + frac) * size;
  if (scaled % scale !== 0n) throw new DecodeError(path, `timespan ${preview(text)} is finer than a nanosecond`);
  const ns = scaled / scale;
  return sign === '-' ? -ns : ns;
}

export function parsePort(text: string): Port | undefined {
  const m = PORT_RE.exec(text);
  if (!m) return undefined;
  const number = Number(m[1]);
  if (number > 65535) return undefined;
  const protocol: PortProtocol = m[2] === '?' ? 'unknown' : (m[2] as PortProtocol);
  return { number, protocol };
}

export function isSubnet(text: string): boolean {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return false;
  const family = isIP(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

export function encodeValue(v: Value): WireValue {
  switch (v.type) {
    case 'none':
      return { '@data-type': 'none', data: {} };
    case 'count':
    case 'integer':
      return { '@data-type': v.type, data: toJsonInteger(v.value) };
    case 'timespan':
      return { '@data-type': 'timespan', data: encodeTimespan(v.value) };
    case 'port':
      return { '@data-type': 'port', data: portToString(v.value) };
    case 'vector':
    case 'set':
      return { '@data-type': v.type, data: v.value.map(encodeValue) };
    case 'table':
      return { '@data-type': 'table', data: v.value.map(([k, x]) => ({ key: encodeValue(k), value: encodeValue(x) })) };
    case 'real':
      if (!Number.isFinite(v.value)) throw new RangeError(`real ${v.value} has no JSON form`);
      return { '@data-type': 'real', data: v.value };
    default:
      return { '@data-type': v.type, data: v.value };
  }
}

/**
 * Writes a value's JSON text directly (no intermediate objects): the hot
 * path of every publish. Bigints print exactly.
 */
export function writeValue(v: Value): string {
  switch (v.type) {
    case 'none':
      return '{"@data-type":"none","data":{}}';
    case 'boolean':
      return v.value ? '{"@data-type":"boolean","data":true}' : '{"@data-type":"boolean","data":false}';
    case 'count':
    case 'integer':
      return `{"@data-type":"${v.type}","data":${v.value}}`;
    case 'real':
      if (!Number.isFinite(v.value)) throw new RangeError(`real ${v.value} has no JSON form`);
      return `{"@data-type":"real","data":${JSON.stringify(v.value)}}`;
    case 'timespan':
      return `{"@data-type":"timespan","data":"${encodeTimespan(v.value)}"}`;
    case 'port':
      return `{"@data-type":"port","data":"${portToString(v.value)}"}`;
    case 'vector':
    case 'set': {
      let out = `{"@data-type":"${v.type}","data":[`;
      for (let i = 0; i < v.value.length; i++) out += (i ? ',' : '') + writeValue(v.value[i]!);
      return `${out}]}`;
    }
    case 'table': {
      let out = '{"@data-type":"table","data":[';
      for (let i = 0; i < v.value.length; i++) {
        const [k, x] = v.value[i]!;
        out += `${i ? ',' : ''}{"key":${writeValue(k)},"value":${writeValue(x)}}`;
      }
      return `${out}]}`;
    }
    default:
      return `{"@data-type":"${v.type}","data":${JSON.stringify(v.value)}}`;
  }
}

function toJsonInteger(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function isObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return `array ${preview(raw)}`;
  return `${typeof raw} ${preview(raw)}`;
}

function exactInteger(data: unknown, path: string, type: 'count' | 'integer'): bigint {
  let n: bigint;
  if (typeof data === 'bigint') n = data;
  else if (typeof data === 'number' && Number.isInteger(data)) {
    if (!Number.isSafeInteger(data)) throw new DecodeError(path, `${type} ${data} lost precision in transit`);
    n = BigInt(data);
  } else throw new DecodeError(path, `expected ${type}, got ${describe(data)}`);
  const [min, max] = type === 'count' ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (n < min || n > max) throw new DecodeError(path, `${type} ${n} out of range`);
  return n;
}

function expectData<T>(data: unknown, path: string, type: string, check: (d: unknown) => d is T): T {
  if (!check(data)) throw new DecodeError(path, `expected ${type}, got ${describe(data)}`);
  return data;
}

const isString = (d: unknown): d is string => typeof d === 'string';
const isArray = (d: unknown): d is unknown[] => Array.isArray(d);

/**
 * Decodes one wire value. `path` names it in errors, e.g. `args[1]`;
 * values nested deeper than `maxDepth` are refused (decoding recurses, and a
 * peer must not be able to make it overflow the stack).
 */
export function decodeValue(raw: unknown, path = '', maxDepth = DEFAULT_LIMITS.maxDepth): Value {
  return withDepthLimit(maxDepth, () => decodeWire(raw, path, false, maxDepth));
}

/**
 * decodeValue for parsed JSON that nothing else holds (a message just
 * received): each list element is let go of once decoded. The objects JSON.parse
 * made of a large message then die young, instead of being copied by every
 * garbage collection while the rest of the message is decoded.
 */
export function decodeParsed(raw: unknown, path = '', maxDepth = DEFAULT_LIMITS.maxDepth): Value {
  return withDepthLimit(maxDepth, () => decodeWire(raw, path, true, maxDepth));
}

const TOO_DEEP = 'nested too deeply';

/** Names the limit in a too-deep error (the recursion only knows the depth left). */
function withDepthLimit(maxDepth: number, decode: () => Value): Value {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DecodeError && err.detail === TOO_DEEP) {
      throw new DecodeError(err.path, `values are nested more than ${maxDepth} levels deep`);
    }
    throw err;
  }
}

/**
 * Decodes part `i` (an element, a key, a value) one level down. Its path,
 * `path[i]suffix`, is put together only if decoding fails: a large value
 * allocates no path strings.
 */
function decodeInner(raw: unknown, path: string, i: number, suffix: string, consume: boolean, depthLeft: number): Value {
  try {
    return decodeWire(raw, '', consume, depthLeft);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new DecodeError(`${path}[${i}]${suffix}${err.path}`, err.detail);
  }
}

function decodeWire(raw: unknown, path: string, consume: boolean, depthLeft: number): Value {
  if (!isObject(raw)) throw new DecodeError(path, `expected a Broker value, got ${describe(raw)}`);
  const type = raw['@data-type'];
  const data = raw.data;
  if (typeof type !== 'string') throw new DecodeError(path, 'missing "@data-type"');
  if (!('data' in raw)) throw new DecodeError(path, `missing "data" for ${type}`);
  switch (type) {
    case 'none':
      if (!isObject(data) && data !== null) throw new DecodeError(path, `expected none, got ${describe(data)}`);
      return none();
    case 'boolean':
      return { type, value: expectData(data, path, 'boolean', (d): d is boolean => typeof d === 'boolean') };
    case 'count':
    case 'integer':
      return { type, value: exactInteger(data, path, type) };
    case 'real':
      if (typeof data === 'bigint') return { type, value: Number(data) };
      return { type, value: expectData(data, path, 'real', (d): d is number => typeof d === 'number') };
    case 'timespan':
      return { type, value: decodeTimespan(expectData(data, path, 'timespan', isString), path) };
    case 'timestamp': {
      const text = expectData(data, path, 'timestamp', isString);
      if (!TIMESTAMP_RE.test(text)) throw new DecodeError(path, `expected timestamp, got string ${preview(text)}`);
      return { type, value: text };
    }
    case 'string':
      return { type, value: expectData(data, path, 'string', isString) };
    case 'enum-value': {
      const text = expectData(data, path, 'enum-value', isString);
      if (text === '') throw new DecodeError(path, 'expected enum-value, got an empty string');
      return { type, value: text };
    }
    case 'address': {
      const text = expectData(data, path, 'address', isString);
      if (isIP(text) === 0) throw new DecodeError(path, `expected address, got string ${preview(text)}`);
      return { type, value: text };
    }
    case 'subnet': {
      const text = expectData(data, path, 'subnet', isString);
      if (!isSubnet(text)) throw new DecodeError(path, `expected subnet, got string ${preview(text)}`);
      return { type, value: text };
    }
    case 'port': {
      const text = expectData(data, path, 'port', isString);
      const p = parsePort(text);
      if (!p) throw new DecodeError(path, `expected port, got string ${preview(text)}`);
      return { type, value: p };
    }
    case 'vector':
    case 'set': {
      const items = expectData(data, path, type, isArray);
      const inner = nested(path, depthLeft);
      return {
        type,
        value: items.map((x, i) => {
          if (consume) items[i] = null;
          return decodeInner(x, path, i, '', consume, inner);
        }),
      };
    }
    case 'table': {
      const entries = expectData(data, path, 'table', isArray);
      const inner = nested(path, depthLeft);
      return {
        type,
        value: entries.map((entry, i) => {
          if (!isObject(entry) || !('key' in entry) || !('value' in entry)) {
            throw new DecodeError(`${path}[${i}]`, `expected {"key", "value"}, got ${describe(entry)}`);
          }
          if (consume) entries[i] = null;
          return [decodeInner(entry.key, path, i, '.key', consume, inner), decodeInner(entry.value, path, i, '.value', consume, inner)] as const;
        }),
      };
    }
    default:
      throw new DecodeError(path, `unknown @data-type ${preview(type)}`);
  }
}

/** The depth left for a container's elements; refuses the container when there is none. */
function nested(path: string, depthLeft: number): number {
  if (depthLeft <= 0) throw new DecodeError(path, TOO_DEEP);
  return depthLeft - 1;
}
