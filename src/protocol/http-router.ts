/**
 * The plain HTTP side of a listener: routes by method and path (query
 * strings ignored), one authorisation hook in front of every route and of
 * the WebSocket upgrade, and a few response helpers. Whoever owns a listener
 * registers its routes here (the controller: Prometheus service discovery
 * and metrics); a security layer sets the hook once for all of them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** What a request is for, as the authorisation hook sees it. */
export interface RouteInfo {
  /** The route's name (e.g. `metrics`), `websocket` for the upgrade. */
  name: string;
  method: string;
  path: string;
}

/** The hook's verdict: go on, or answer with this status (401, 403…), message and headers (e.g. `www-authenticate`). */
export type Authorization = { ok: true } | { ok: false; status: number; message: string; headers?: Record<string, string> };
export type Authorize = (req: IncomingMessage, route: RouteInfo) => Authorization;

interface Route { name: string; methods: readonly string[]; handler: HttpHandler }

const allowAll: Authorize = () => ({ ok: true });

export class HttpRouter {
  private readonly routes = new Map<string, Route>();
  private hook: Authorize = allowAll;

  /** Serves `path` for these methods (HEAD goes with GET); a path has one route. */
  add(path: string, route: { name: string; methods?: readonly string[]; handler: HttpHandler }): this {
    if (this.routes.has(path)) throw new Error(`HTTP route ${path} is registered twice`);
    const methods = route.methods ?? ['GET'];
    this.routes.set(path, { name: route.name, methods: methods.includes('GET') ? [...methods, 'HEAD'] : methods, handler: route.handler });
    return this;
  }

  /** Sets the one authorisation hook, asked before every route and before a WebSocket upgrade. */
  authorize(hook: Authorize): this {
    this.hook = hook;
    return this;
  }

  /** The hook's verdict for a request (the listener asks it for upgrades). */
  check(req: IncomingMessage, name: string): Authorization {
    return this.hook(req, { name, method: req.method ?? 'GET', path: pathOf(req) });
  }

  /** Answers the request when a route has its path; false when none has (the caller says 404). */
  handle(req: IncomingMessage, res: ServerResponse, log: Logger): boolean {
    const path = pathOf(req);
    const route = this.routes.get(path);
    if (!route) return false;
    const method = req.method ?? 'GET';
    if (!route.methods.includes(method)) {
      sendText(res, 405, `${method} is not allowed on ${path}\n`, { allow: route.methods.join(', ') });
      return true;
    }
    const verdict = this.check(req, route.name);
    if (!verdict.ok) {
      sendText(res, verdict.status, `${verdict.message}\n`, verdict.headers);
      return true;
    }
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((err: Error) => {
        log.error({ route: route.name, err: err.message }, 'HTTP handler failed');
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
    return true;
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}, type = 'text/plain; charset=utf-8'): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, `${JSON.stringify(value)}\n`, {}, 'application/json');
}
