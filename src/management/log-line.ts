/**
 * One management log line as JSON text, in pino's shape: level, time, the
 * logger's bindings, the caller's fields in their order, then `msg`. Fields
 * that are undefined are left out; an `err` Error becomes its type, message,
 * stack and own properties (pino's serializer); big integers print exactly;
 * a field that cannot be written as JSON says why instead. Peers choose
 * much of what is logged (event names, ids, topics), so every field and the
 * message are cut at FIELD_LIMIT characters, saying how much was left out:
 * a 15 MiB event name costs a line of ~1 KiB, not 15 MiB three times.
 */
import { stringifyJson } from '../protocol/wire-json.js';
import { printable } from './printable.js';

export type LineLevel = 'debug' | 'info' | 'warn' | 'error';

/** The most characters of one field (its JSON text) or of the message that a line holds. */
export const FIELD_LIMIT = 1024;

/** `text`, cut to `limit` characters with a note of how many were left out. */
export function truncate(text: string, limit = FIELD_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}... [${text.length - limit} more characters]`;
}

/** `stamp` and `bindings` are ready text: `,"time":"…"` and `,"name":…,"role":…`. */
export function formatLine(level: LineLevel, stamp: string, bindings: string, obj: object, msg: string | undefined): string {
  let line = `{"level":"${level}"${stamp}${bindings}`;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    line += `,${JSON.stringify(key)}:${key === 'err' && value instanceof Error ? jsonOrWhy(errorJson(value)) : fieldJson(value)}`;
  }
  if (msg !== undefined) line += `,"msg":${JSON.stringify(truncate(msg))}`;
  return `${line}}\n`;
}

function errorJson(err: Error): object {
  return Object.assign({ type: err.constructor.name, message: truncate(err.message), stack: truncate(err.stack ?? '', 4 * FIELD_LIMIT) }, err);
}

/** The field's JSON text; cut (as a string holding the start of it) when it is too long. */
function fieldJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  const text = jsonOrWhy(value);
  return text.length <= FIELD_LIMIT ? text : JSON.stringify(truncate(text));
}

function jsonOrWhy(value: unknown): string {
  try {
    return stringifyJson(value);
  } catch (err) {
    return JSON.stringify(`[not JSON: ${(err as Error).message}]`);
  }
}

/**
 * One line for a person: `2024-05-01 12:00:00.123 WARN  name: msg key=value …`
 * (UTC), fields as short text; nothing in it is a control character.
 */
export function formatTextLine(level: LineLevel, time: number, name: string, obj: object, msg: string | undefined): string {
  const stamp = new Date(time).toISOString().replace('T', ' ').slice(0, 23);
  let line = `${stamp} ${level.toUpperCase().padEnd(5)} ${name}: ${msg ?? ''}`;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    const text = typeof value === 'string' ? (/^[^\s"=]*$/.test(value) && value !== '' ? value : JSON.stringify(value))
      : fieldJson(key === 'err' && value instanceof Error ? { message: value.message } : value);
    line += ` ${key}=${text.length > MAX_TEXT_FIELD ? `${text.slice(0, MAX_TEXT_FIELD)}…` : text}`;
  }
  return `${printable(line)}\n`;
}

/** Longer field values are cut on a terminal (the file has them whole). */
const MAX_TEXT_FIELD = 200;
