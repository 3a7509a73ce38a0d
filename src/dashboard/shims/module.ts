/**
 * `node:module`'s createRequire for the browser bundle: protocol/wire-json.ts
 * loads lossless-json through it on first need; here it is in the bundle.
 */
import * as losslessJson from 'lossless-json';

export function createRequire(_from: string): (name: string) => unknown {
  return (name) => {
    if (name === 'lossless-json') return losslessJson;
    throw new Error(`${name} is not available in the dashboard`);
  };
}
