/**
 * JSON text <-> JavaScript values, keeping 64-bit integers exact.
 * JSON.parse rounds integers beyond 2^53; only text that could hold such a
 * number (16 or more digits in a row) takes the slower lossless parser.
 */
import { createRequire } from 'node:module';
import type * as LosslessJson from 'lossless-json';

/**
 * lossless-json's single-file CommonJS build: one file to load at start
 * instead of ten ES modules (about 5 ms of every process start).
 */
export const losslessJson = createRequire(import.meta.url)('lossless-json') as typeof LosslessJson;
const { parse: losslessParse, stringify: losslessStringify, isInteger } = losslessJson;

const LONG_DIGITS = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (isInteger(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  return Number(text);
}

export function parseJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return losslessParse(text, null, parseNumber);
}

export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // Only bigints beyond 2^53 make JSON.stringify throw a TypeError here.
    return losslessStringify(value) as string;
  }
}
