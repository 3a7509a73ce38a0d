/**
 * The live dashboard's files, served on the client listener beside the
 * WebSocket API: `/` (the page) and its script and style under
 * `/dashboard/`. The page is a client of the public API like any other (it
 * opens `/v1/messages/json` from the browser); these routes only hand out
 * the static files that `npm run build` made (scripts/bundle-dashboard.ts),
 * read once and kept in memory. Every response forbids framing and
 * inline code (Content-Security-Policy), so the page's buttons cannot be
 * driven from another site's frame.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { sendText, type HttpRouter } from '../protocol/index.js';

/** Where the build puts the page's files (dist/src/dashboard/static). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/static/', import.meta.url));

/** URL path → file in DASHBOARD_DIR and its type. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface Asset { body: Buffer; etag: string; type: string }

/** Adds the page's routes (named `dashboard`, for the authorisation hook) to a listener's router. */
export function addDashboardRoutes(http: HttpRouter, dir = DASHBOARD_DIR): void {
  const cache = new Map<string, Asset>();
  const load = (path: string): Asset | undefined => {
    const known = cache.get(path);
    if (known) return known;
    const spec = FILES[path]!;
    let body: Buffer;
    try {
      body = readFileSync(`${dir}${spec.file}`);
    } catch {
      return undefined;
    }
    const asset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, type: spec.type };
    cache.set(path, asset);
    return asset;
  };
  for (const path of Object.keys(FILES)) {
    http.add(path, { name: 'dashboard', handler: (req, res) => serve(req, res, load(path)) });
  }
}

function serve(req: IncomingMessage, res: ServerResponse, asset: Asset | undefined): void {
  if (!asset) {
    sendText(res, 503, 'the dashboard is not built in this installation: run `npm run build`\n', SECURITY_HEADERS);
    return;
  }
  const headers = { ...SECURITY_HEADERS, etag: asset.etag, 'cache-control': 'no-cache' };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': asset.type, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

/** Where a listener bound to `host` is reached from this host: a wildcard address on loopback. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/**
 * The page's address for a client listener bound to `host`, e.g. `http://127.0.0.1:2149/` (a wildcard address:
 * loopback; `https` when the listener has TLS; a token, when given, in the fragment, which the page takes).
 */
export function dashboardUrl(host: string, port: number, o: { tls?: boolean; token?: string } = {}): string {
  const at = connectHost(host);
  return `${o.tls ? 'https' : 'http'}://${at.includes(':') ? `[${at}]` : at}:${port}/${o.token ? `#token=${encodeURIComponent(o.token)}` : ''}`;
}
