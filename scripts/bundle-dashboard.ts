/**
 * Build step after tsc (`npm run build`, `prepare`): the dashboard's files
 * in dist/src/dashboard/static/, which the controller serves
 * (src/controller/dashboard.ts): index.html and app.css as written, and
 * app.js, one ES module bundled by esbuild from the TypeScript sources in
 * src/dashboard/ with Preact and htm (type-checked by
 * `tsc -p src/dashboard/tsconfig.json`, which runs first). Everything the
 * page needs is in these three files: it loads nothing from elsewhere.
 *
 * The page reuses the project's own protocol codec, records, request
 * definitions and INI parser. The three Node builtins they import are
 * replaced by small browser versions (src/dashboard/shims/).
 *
 * usage: node dist/scripts/bundle-dashboard.js [OUT_DIR]   (default dist/src/dashboard/static)
 */
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = join(ROOT, 'src', 'dashboard');
const OUT = fileURLToPath(new URL('../src/dashboard/static/', import.meta.url));
const SHIMMED = ['net', 'crypto', 'module'];

const browserShims: Plugin = {
  name: 'browser-shims',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(node:)?(${SHIMMED.join('|')})$`) }, (args) => ({ path: join(SOURCE, 'shims', `${args.path.replace(/^node:/, '')}.ts`) }));
    b.onResolve({ filter: /^node:/ }, (args) => ({ errors: [{ text: `${args.path} is imported by ${args.importer}, which the dashboard cannot run in a browser` }] }));
  },
};

export async function bundleDashboard(outDir = OUT): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(SOURCE, 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'eof',
    plugins: [browserShims],
    logLevel: 'warning',
  });
  await Promise.all(['index.html', 'app.css'].map((f) => copyFile(join(SOURCE, f), join(outDir, f))));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleDashboard(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
