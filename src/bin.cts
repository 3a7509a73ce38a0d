#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS ZEEK_MGMT_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node
/**
 * The executable (package.json "bin"). A client command in its plain form
 * (what scripts run) runs from the client bundle: the client's one-shot
 * path as one CommonJS file (dist/src/client.bundle.cjs, made by
 * scripts/bundle-client.ts after tsc) compiled with its V8 code cache, so
 * that a one-shot command loads one file and compiles nothing. Every other
 * form — the daemons, help, --version, subcommand options, usage errors —
 * goes to the full commander program over the ES modules, as src/cli.ts
 * (the same dispatch without the bundle) does.
 *
 * The build step compiles the bundle with compileBundle() below to make the
 * cache, so the cache is made from exactly the text run here.
 *
 * The #! line starts Node without NODE_EXTRA_CA_CERTS: Node 20 reads and
 * parses every certificate in that file at start-up (~40 ms on a machine
 * where it names the system bundle), and a plaintext command never uses
 * Node's certificate store; where zeek-mgmt speaks TLS it reads that file
 * itself, lazily (protocol/trust.ts). The value rides along in
 * ZEEK_MGMT_NODE_EXTRA_CA_CERTS and is put back into the environment at
 * once, so processes started from here (nodes under an agent) see the
 * environment the operator set.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type * as CommandLine from './client/command-line.js';

export const BUNDLE_FILE = 'client.bundle.cjs';
export const CACHE_FILE = 'client.bundle.cjs.cache';

/** What the bundle exports: its entry, client/command-line.ts. */
export type ClientBundle = typeof CommandLine;

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** Compiles the bundle's text as CommonJS wraps a module; `rejected`: V8 refused the cache given. */
export function compileBundle(source: string, filename: string, cachedData: Buffer | undefined): { script: Script; rejected: boolean } {
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename, cachedData });
  return { script, rejected: script.cachedDataRejected === true };
}

/** Loads the bundle from `dir` (the one beside this file unless told); `cacheRejected` is undefined without a cache file. */
export function loadClientBundle(dir = __dirname): { bundle: ClientBundle; cacheRejected: boolean | undefined } {
  const filename = join(dir, BUNDLE_FILE);
  const source = readFileSync(filename, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, CACHE_FILE));
  } catch {
    // No cache: the bundle compiles, only slower.
  }
  const { script, rejected } = compileBundle(source, filename, cachedData);
  const module = { exports: {} };
  (script.runInThisContext() as ModuleFunction)(module.exports, require, module, filename, dirname(filename));
  return { bundle: module.exports as ClientBundle, cacheRejected: cachedData ? rejected : undefined };
}

/** Puts NODE_EXTRA_CA_CERTS back as the operator set it (see the top of this file). */
function restoreExtraCaCerts(env: NodeJS.ProcessEnv): void {
  const carried = env.ZEEK_MGMT_NODE_EXTRA_CA_CERTS;
  if (carried === undefined) return;
  delete env.ZEEK_MGMT_NODE_EXTRA_CA_CERTS;
  if (carried !== '') env.NODE_EXTRA_CA_CERTS = carried;
}

if (require.main === module) {
  restoreExtraCaCerts(process.env);
  const plain = loadClientBundle().bundle.plainClientCommand(process.argv.slice(2));
  if (plain) {
    void plain().then((code) => { process.exitCode = code; });
  } else {
    void import('./program.js').then(({ runProgram }) => runProgram(process.argv));
  }
}
