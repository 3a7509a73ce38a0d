/**
 * Build step after tsc (`npm run build`, `prepare`): the client's one-shot
 * path as one CommonJS file with a V8 code cache, which the executable
 * (src/bin.cts) loads instead of ~20 ES modules, ws's and lossless-json's
 * files.
 *
 * The bundle starts at dist/src/client/command-line.js (the command line as
 * data and the plain-form parser) and takes in everything a client command
 * imports, ws included; what it imports lazily stays lazy (esbuild turns a
 * dynamic import into a deferred initialiser). Builtins that only some
 * commands use are required on first use. The cache holds every function
 * of the bundle compiled, so a run compiles nothing of ours.
 *
 * usage: node dist/scripts/bundle-client.js [OUT_DIR]   (default dist/src)
 */
import { build, type Plugin } from 'esbuild';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { BUNDLE_FILE, CACHE_FILE, compileBundle } from '../src/bin.cjs';

const require = createRequire(import.meta.url);
const DIST_SRC = fileURLToPath(new URL('../src/', import.meta.url));
/** The package root: the bundle's comments name files relative to it, whatever the working directory. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builtins the client path imports but needs only for some commands or
 * settings (TLS, compression, writing a file): in the bundle, each is a
 * stand-in that requires the real module on its first use.
 */
const DEFERRED_BUILTINS = ['https', 'tls', 'zlib', 'fs/promises'];

/**
 * `createRequire(import.meta.url)(NAME)` (src/protocol/ws.ts,
 * wire-json.ts: the fastest way to load a CommonJS package from an ES
 * module) becomes a plain `require(NAME)`, which the bundler follows.
 */
const plainRequire: Plugin = {
  name: 'plain-require',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replaceAll('createRequire(import.meta.url)(', 'require('), loader: 'js' };
    });
  },
};

const deferredBuiltins: Plugin = {
  name: 'deferred-builtins',
  setup(b) {
    const names = DEFERRED_BUILTINS.map((n) => n.replace('/', '\\/')).join('|');
    b.onResolve({ filter: new RegExp(`^(node:)?(${names})$`) }, (args) =>
      // The stand-in's own require is of the real module.
      args.namespace === 'deferred' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'deferred' });
    b.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => {
      const name = `node:${args.path}`;
      // The names are listed without loading the module (an ES module's
      // import of it lists them at once); each property is read on use.
      const names = Object.getOwnPropertyNames(require(name));
      return {
        loader: 'js',
        contents: `let m; const load = () => (m ??= require(${JSON.stringify(name)}));
const names = ${JSON.stringify(names)};
module.exports = new Proxy({}, {
  get: (_t, k) => load()[k],
  set: (_t, k, v) => { load()[k] = v; return true; },
  has: (_t, k) => (m ? k in m : names.includes(k)),
  ownKeys: () => (m ? Reflect.ownKeys(m) : names),
  getOwnPropertyDescriptor: (_t, k) => (m || names.includes(k)) && (!m || Object.hasOwn(m, k))
    ? { get: () => load()[k], set: (v) => { load()[k] = v; }, enumerable: true, configurable: true }
    : undefined,
});`,
      };
    });
  },
};

/**
 * Optional native add-ons ws tries to require inside try/catch. One not
 * installed when the bundle is built is left out as missing: looking for it
 * at every start would cost a search of every node_modules folder (~1 ms);
 * one installed stays a run-time require.
 */
const OPTIONAL_PACKAGES = ['bufferutil', 'utf-8-validate'];

const absentOptionals: Plugin = {
  name: 'absent-optionals',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${OPTIONAL_PACKAGES.join('|')})$`) }, (args) => {
      try {
        require.resolve(args.path, { paths: [args.resolveDir] });
        return { path: args.path, external: true };
      } catch {
        return { path: args.path, namespace: 'absent' };
      }
    });
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      loader: 'js',
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' });`,
    }));
  },
};

/**
 * Packages only some rare commands load (tar: packing a script bundle;
 * tar-stream: diag's archive writer), left as run-time requires: in the
 * bundle and its code cache they would cost every command their loading,
 * for nothing.
 */
const RUNTIME_PACKAGES = ['tar', 'tar-stream'];

/** Writes the bundle and its code cache into `outDir`; returns the bundle's path. */
export async function bundleClient(outDir = DIST_SRC): Promise<string> {
  const outfile = join(outDir, BUNDLE_FILE);
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(DIST_SRC, 'client', 'command-line.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    plugins: [plainRequire, deferredBuiltins, absentOptionals],
    external: RUNTIME_PACKAGES,
    logLevel: 'warning',
  });
  const source = await readFile(outfile, 'utf8');
  // The loader runs the bundle as a script, which has no module loader behind import().
  for (const leftover of ['import.meta', 'createRequire', 'import(']) {
    if (source.includes(leftover)) throw new Error(`${outfile}: the bundle still contains ${leftover}; it would fail when loaded by src/bin.cts`);
  }
  // Compile every function now (not on first call) so the cache covers them
  // all; the flag is restored before the cache is written, as V8 rejects a
  // cache made under other flags.
  setFlagsFromString('--no-lazy');
  const { script } = compileBundle(source, outfile, undefined);
  setFlagsFromString('--lazy');
  await writeFile(join(outDir, CACHE_FILE), script.createCachedData());
  return outfile;
}

/** tsc writes files without the execute bit; the executable needs it for its #! line. */
export async function makeExecutable(): Promise<void> {
  await chmod(join(DIST_SRC, 'bin.cjs'), 0o755);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleClient(process.argv[2] ? resolve(process.argv[2]) : undefined);
  await makeExecutable();
}
