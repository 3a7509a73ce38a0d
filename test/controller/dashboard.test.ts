/**
 * What the controller does for the dashboard: serves the page's files on
 * the client port (with their security headers, validators, and a clear
 * answer when the page is not built), tells a session its role, and tells
 * clients when an instance connects or goes away.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControllerApi } from '../../src/management/index.js';
import { HttpRouter } from '../../src/protocol/index.js';
import { addDashboardRoutes, dashboardUrl } from '../../src/controller/dashboard.js';
import { removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { startControllerProc, TestAgent, TestClient } from './harness.js';

const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of closers) await c();
  await stopAll();
  removeTempDirs();
});

describe('dashboard on the controller', () => {
  test('the page and its files are served on the client port, framing and inline code forbidden, with validators', async () => {
    const ctl = await startControllerProc(tempDir());
    const base = `http://127.0.0.1:${ctl.clientPort}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'; .*connect-src 'self'.*frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/dashboard\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from elsewhere');

    const js = await fetch(`${base}/dashboard/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await js.text(), /v1\/messages\/json/);
    const etag = js.headers.get('etag')!;
    assert.equal((await fetch(`${base}/dashboard/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${base}/dashboard/app.css`)).headers.get('content-type'), 'text/css; charset=utf-8');

    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/dashboard/../../package.json`)).status, 404);
    assert.equal((await fetch(`${base}/dashboard/other.js`)).status, 404);
  });

  test('an installation without the built page says so (503) instead of serving nothing', async () => {
    const router = new HttpRouter();
    addDashboardRoutes(router, `${tempDir()}/`);
    const srv: Server = createServer((req, res) => { if (!router.handle(req, res, console)) res.writeHead(404).end(); });
    closers.push(() => { srv.close(); });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const r = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /the dashboard is not built in this installation: run `npm run build`/);
  });

  test('the address printed for a listener: wildcard binds are reached on loopback, IPv6 in brackets', () => {
    assert.equal(dashboardUrl('127.0.0.1', 2149), 'http://127.0.0.1:2149/');
    assert.equal(dashboardUrl('0.0.0.0', 2149), 'http://127.0.0.1:2149/');
    assert.equal(dashboardUrl('::', 2149), 'http://[::1]:2149/');
    assert.equal(dashboardUrl('fd00::5', 80), 'http://[fd00::5]:80/');
  });

  test('a session asks for its role; clients are told when an instance connects and when it goes away', async () => {
    const ctl = await startControllerProc(tempDir());
    const client = await TestClient.connect(ctl.clientPort);
    closers.push(() => client.close());
    const role = await client.request((r) => ControllerApi.getSessionRole.request.make(r), ControllerApi.getSessionRole.response);
    assert.deepEqual(role.data, { type: 'string', value: 'operator' });

    const agent = new TestAgent('agent-dash');
    closers.push(() => agent.close());
    await agent.connect(ctl);
    await client.waitFor(ControllerApi.notifyInstanceState, ([name, connected]) => name === 'agent-dash' && connected);
    await agent.close();
    await client.waitFor(ControllerApi.notifyInstanceState, ([name, connected]) => name === 'agent-dash' && !connected);
    const changes = client.events.filter((e) => e.name === ControllerApi.notifyInstanceState.name).map((e) => ControllerApi.notifyInstanceState.decode(e).slice(0, 2));
    assert.deepEqual(changes, [['agent-dash', true], ['agent-dash', false]]);
  });
});
