/**
 * One management log line as JSON text, in pino's shape: level, time, the
 * logger's bindings, the caller's fields in their order, then `msg`. Fields
 * that are undefined are left out; an `err` Error becomes its type, message,
 * stack and own properties (pino's serializer); big integers print exactly;
 * a field that cannot be written as JSON says why instead.
 */
import { stringifyJson } from '../protocol/wire-json.js';

export type LineLevel = 'debug' | 'info' | 'warn' | 'error';

/** `stamp` and `bindings` are ready text: `,"time":"…"` and `,"name":…,"role":…`. */
export function formatLine(level: LineLevel, stamp: string, bindings: string, obj: object, msg: string | undefined): string {
  let line = `{"level":"${level}"${stamp}${bindings}`;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    line += `,${JSON.stringify(key)}:${fieldJson(key === 'err' && value instanceof Error ? errorJson(value) : value)}`;
  }
  if (msg !== undefined) line += `,"msg":${JSON.stringify(msg)}`;
  return `${line}}\n`;
}

function errorJson(err: Error): object {
  return Object.assign({ type: err.constructor.name, message: err.message, stack: err.stack }, err);
}

function fieldJson(value: unknown): string {
  try {
    return stringifyJson(value);
  } catch (err) {
    return JSON.stringify(`[not JSON: ${(err as Error).message}]`);
  }
}
