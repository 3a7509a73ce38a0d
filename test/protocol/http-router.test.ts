/**
 * A listener's plain HTTP side: routes beside the WebSocket path, over a
 * real socket, and the one authorisation hook that stands in front of every
 * route and of the WebSocket upgrade.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { Endpoint, HttpRouter, sendJson, type RouteInfo } from '../../src/protocol/index.js';

const endpoints: Endpoint[] = [];
after(async () => { for (const e of endpoints) await e.close(); });

function get(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(router: HttpRouter): Promise<number> {
  const ep = new Endpoint();
  endpoints.push(ep);
  return (await ep.listen({ host: '127.0.0.1', port: 0, router })).port;
}

describe('HTTP routes on a listener', () => {
  test('serves its routes; other paths are 404, other methods 405, HEAD has no body, a failing handler is 500', async () => {
    const router = new HttpRouter()
      .add('/hello.json', { name: 'hello', handler: (_req, res) => sendJson(res, 200, { hi: 1 }) })
      .add('/broken', { name: 'broken', handler: () => { throw new Error('boom'); } });
    const port = await listen(router);
    const ok = await get(port, '/hello.json?x=1');
    assert.deepEqual([ok.status, ok.headers['content-type'], JSON.parse(ok.body)], [200, 'application/json', { hi: 1 }]);
    const head = await get(port, '/hello.json', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    const post = await get(port, '/hello.json', 'POST');
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD']);
    assert.equal((await get(port, '/nothing')).status, 404);
    assert.equal((await get(port, '/broken')).status, 500);
    assert.throws(() => router.add('/broken', { name: 'again', handler: () => undefined }), /registered twice/);
  });

  test('the authorisation hook decides for every route and for the WebSocket upgrade', async () => {
    const seen: RouteInfo[] = [];
    const router = new HttpRouter()
      .add('/metrics', { name: 'metrics', handler: (_req, res) => sendJson(res, 200, 'secret figures') })
      .authorize((req, route) => {
        seen.push(route);
        return req.headers.authorization === 'Bearer good' ? { ok: true } : { ok: false, status: 401, message: 'a token is needed', headers: { 'www-authenticate': 'Bearer' } };
      });
    const port = await listen(router);
    const refused = await get(port, '/metrics');
    assert.deepEqual([refused.status, refused.body, refused.headers['www-authenticate']], [401, 'a token is needed\n', 'Bearer']);
    assert.equal((await get(port, '/metrics', 'GET', { authorization: 'Bearer good' })).status, 200);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/messages/json`);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => undefined);
    });
    assert.equal(status, 401, 'no upgrade without the token');
    const opened = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/messages/json`, { headers: { authorization: 'Bearer good' } });
      ws.on('open', () => { resolve(true); ws.close(); });
      ws.on('error', () => resolve(false));
    });
    assert.equal(opened, true);
    assert.deepEqual(seen.map((r) => `${r.name} ${r.method} ${r.path}`), ['metrics GET /metrics', 'metrics GET /metrics', 'websocket GET /v1/messages/json', 'websocket GET /v1/messages/json']);
  });
});
