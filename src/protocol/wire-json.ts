/**
 * JSON text <-> JavaScript values, keeping 64-bit integers exact.
 * JSON.parse rounds integers beyond 2^53; only text that could hold such a
 * number (16 or more digits in a row) takes the slower lossless parser,
 * which is loaded the first time it is needed: most processes never are.
 */
import { createRequire } from 'node:module';
import type * as LosslessJson from 'lossless-json';

let loaded: typeof LosslessJson | undefined;

/** lossless-json's single-file CommonJS build (one file, not ten ES modules), loaded on first use. */
export function losslessJson(): typeof LosslessJson {
  loaded ??= createRequire(import.meta.url)('lossless-json') as typeof LosslessJson;
  return loaded;
}

/** Whether `value` is a LosslessNumber; none exists before lossless-json is loaded, so this never loads it. */
export function isLosslessNumber(value: unknown): value is LosslessJson.LosslessNumber {
  return loaded !== undefined && loaded.isLosslessNumber(value);
}

const LONG_DIGITS = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (losslessJson().isInteger(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  return Number(text);
}

export function parseJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return losslessJson().parse(text, null, parseNumber);
}

export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // Only bigints beyond 2^53 make JSON.stringify throw a TypeError here.
    return losslessJson().stringify(value) as string;
  }
}
