/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against real processes: a controller and an agent on the sim runtime,
 * the mini cluster deployed with worker-02 dropping 6% of its packets.
 * One cluster and one browser serve the tests in order, to keep the run
 * short. With UPDATE_SCREENSHOT=1 the README's screenshot
 * (docs/dashboard.png) is written from this run.
 *
 * Then, against a controller that wants tokens: the page signs in (a token
 * in the address's fragment, or typed), a viewer sees no action, and a page
 * from another origin cannot open a session even where an anonymous one
 * would be an operator.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentApi, TOPIC_CONTROLLER, type State } from '../../src/management/index.js';
import { Endpoint, decodeEvent } from '../../src/protocol/index.js';
import { eventually, removeTempDirs, stopAll, tempDir } from '../helpers/process.js';
import { startControllerProc } from '../controller/harness.js';
import { AGENT, configFile, killPids, startCluster, type Cluster } from '../helpers/cluster.js';
import { openBrowser, type Browser } from '../helpers/browser.js';

const MINI = fileURLToPath(new URL('../../../examples/mini.ini', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));
const NODES = ['logger', 'manager', 'worker-01', 'worker-02'];

/** Node state changes as a plain client sees them, with the time each arrived. */
interface Seen { at: number; node: string; from: State; to: State }

let c: Cluster;
let browser: Browser | undefined;
const watcher = new Endpoint();
const seen: Seen[] = [];

before(async () => {
  c = await startCluster({ runtime: 'sim' });
  const file = configFile(MINI, (t) => t.replace('[worker-02]\n', '[worker-02]\nenv = ZEEK_MGMT_SIM_DROP_PERCENT=6\n'));
  const deployed = await c.client(['deploy-config', file]);
  assert.equal(deployed.code, 0, deployed.stderr);
  await c.allRunning(NODES);
  watcher.subscribe(TOPIC_CONTROLLER, (d) => {
    const event = decodeEvent(d.value);
    if (event.name !== AgentApi.notifyChange.name) return;
    const [, node, from, to] = AgentApi.notifyChange.decode(event);
    seen.push({ at: Date.now(), node: node.name, from, to });
  });
  await watcher.connect({ host: '127.0.0.1', port: c.clientPort, subscriptions: [TOPIC_CONTROLLER], retry: false }).ready();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await watcher.close();
  await stopAll();
  if (c) killPids(c.pids);
  removeTempDirs();
});

const page = () => browser!.page;
const row = (node: string) => page().locator(`tr[data-node="${node}"]`);
const cell = (node: string, column: number) => row(node).locator('td').nth(column);

describe('dashboard in a browser', () => {
  test('shows the deployed cluster: every node with its pid, the instance, the configuration and history; the overloaded worker first', async () => {
    const nodes = await c.nodes();
    await page().goto(`http://127.0.0.1:${c.clientPort}/`);
    await page().locator('[data-link="open"]').waitFor();
    for (const name of NODES) {
      await eventually(async () => (await row(name).getAttribute('data-state')) === 'RUNNING', 10_000);
      await eventually(async () => (await cell(name, 4).textContent()) === String(nodes[name]!.pid), 10_000);
    }
    // The agent scrapes every 5 s and the page asks every 5 s: the capture figures come within ~10 s.
    await eventually(async () => /dropped/.test(await cell('worker-01', 10).textContent() ?? ''), 15_000, 200);
    await eventually(async () => /6\.\d\d% dropped/.test(await cell('worker-02', 10).textContent() ?? ''), 15_000, 200);
    assert.equal(await cell('manager', 10).textContent(), '', 'a manager has no capture figures');
    assert.equal(await page().locator('tr[data-node]').first().getAttribute('data-node'), 'worker-02', 'the overloaded worker comes first');
    assert.match(await row('worker-02').getAttribute('class') ?? '', /sev-overloaded/);
    assert.match(await page().getByTestId('problems').textContent() ?? '', /worker-02 drops 6\.\d\d% of packets/);

    assert.match(await page().locator(`tr[data-instance="${AGENT}"]`).textContent() ?? '', /connected/);
    const history = JSON.parse((await c.client(['get-deployments'])).stdout) as { results: { config_id: string }[] };
    const deployedId = history.results[0]!.config_id;
    assert.equal(await page().getByTestId('deployed-id').textContent(), deployedId);
    assert.ok(await page().locator('tr[data-deployment]').count() >= 1);
    // An anonymous session on loopback is an operator: the actions are there.
    assert.equal(await page().locator('[data-role]').textContent(), 'role: operator');
    assert.equal(await page().locator('button[data-action="restart"]').count(), NODES.length);
  });

  test('kill -9 of a worker: its row leaves RUNNING and comes back within a second of each notification', async (t) => {
    // Record in the page when worker-01's row shows each state.
    await page().evaluate(() => {
      const w = window as unknown as { shown: [number, string][] };
      w.shown = [];
      let last = '';
      const look = (): void => {
        const state = document.querySelector('tr[data-node="worker-01"]')?.getAttribute('data-state') ?? '';
        if (state !== last) { w.shown.push([Date.now(), state]); last = state; }
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
      look();
    });
    const before = (await c.nodes())['worker-01']!.pid!;
    const from = seen.length;
    process.kill(before, 'SIGKILL');
    await eventually(() => seen.slice(from).some((s) => s.node === 'worker-01' && s.to === 'RUNNING'), 20_000);
    const changes = seen.slice(from).filter((s) => s.node === 'worker-01');
    assert.deepEqual(changes.map((s) => s.to), ['CRASHED', 'PENDING', 'RUNNING']);
    const shown = await eventually(async () => {
      const list = await page().evaluate(() => (window as unknown as { shown: [number, string][] }).shown);
      return list[0]?.[1] === 'RUNNING' && list.at(-1)![1] === 'RUNNING' && list.length >= 3 ? list : undefined;
    }, 5000);
    // In order, after the RUNNING the page showed when the recording began.
    let i = 1;
    for (const change of changes) {
      while (i < shown.length && shown[i]![1] !== change.to) i++;
      const drawn = shown[i];
      assert.ok(drawn, `the page showed ${change.to}: ${JSON.stringify(shown)}`);
      assert.ok(drawn[0] - change.at < 1000, `${change.to} drawn ${drawn[0] - change.at} ms after the notification reached a client`);
      t.diagnostic(`${change.to}: drawn ${drawn[0] - change.at} ms after the notification reached another client`);
    }
    const after = (await c.nodes())['worker-01']!.pid!;
    assert.notEqual(after, before);
    await eventually(async () => (await cell('worker-01', 4).textContent()) === String(after), 5000);
    assert.equal(await cell('worker-01', 8).textContent(), '1', 'one restart');
    assert.match(await cell('worker-01', 11).textContent() ?? '', /SIGKILL/);
    assert.match(await page().getByTestId('events').textContent() ?? '', /node worker-01 \(worker\) RUNNING -> CRASHED/);
  });

  test('the restart button asks first, then restarts the node and shows the outcome', async () => {
    const before = (await c.nodes())['worker-02']!.pid!;
    const from = seen.length;
    const button = row('worker-02').locator('button[data-action="restart"]');
    await button.click();
    await page().locator('[data-dialog="confirm"]').waitFor();
    assert.match(await page().locator('[data-dialog="confirm"] h3').textContent() ?? '', /^Restart worker-02\?$/);
    await page().locator('button[data-action="cancel"]').click();
    await page().locator('[data-dialog]').waitFor({ state: 'detached' });

    await button.click();
    await page().locator('button[data-action="confirm"]').click();
    await page().locator('[data-outcome="ok"]').waitFor({ timeout: 20_000 });
    assert.match(await page().locator('[data-dialog="outcome"] pre').textContent() ?? '', /^worker-02: restarted$/);
    const nodes = await c.allRunning(NODES);
    assert.notEqual(nodes['worker-02']!.pid, before);
    // The restart's response came after its own state changes: one restart, not two (Cancel sent nothing).
    assert.equal(seen.slice(from).filter((s) => s.node === 'worker-02' && s.from === 'RUNNING').length, 1);
    await page().locator('button[data-action="close"]').click();
    await eventually(async () => (await cell('worker-02', 4).textContent()) === String(nodes['worker-02']!.pid), 5000);
  });

  test('stage a file, see how it differs, deploy it, roll back: each confirmed, each outcome shown', async () => {
    const confirmed = async (start: () => Promise<void>, outcome: RegExp): Promise<void> => {
      await start();
      await page().locator('button[data-action="confirm"]').click();
      await page().locator('[data-outcome="ok"]').waitFor({ timeout: 30_000 });
      assert.match(await page().locator('[data-dialog="outcome"] pre').textContent() ?? '', outcome);
      await page().locator('button[data-action="close"]').click();
    };
    const before = await page().getByTestId('deployed-id').textContent();
    const text = readFileSync(configFile(MINI), 'utf8') + `\n[worker-03]\nrole = worker\ninstance = ${AGENT}\ninterface = lo\n`;
    await confirmed(() => page().locator('input[data-action="stage"]').setInputFiles({ name: 'bigger.ini', mimeType: 'text/plain', buffer: Buffer.from(text) }),
      /^staged as configuration [0-9a-f-]{36}$/);
    await eventually(async () => /\+ \[worker-03\]/.test(await page().getByTestId('diff').textContent() ?? ''), 5000);
    await confirmed(() => page().locator('button[data-action="deploy"]').click(), /^deployed configuration [0-9a-f-]{36}\n(\S+: ok\n?){5}$/);
    await c.allRunning([...NODES, 'worker-03']);
    await eventually(async () => (await row('worker-03').getAttribute('data-state')) === 'RUNNING', 5000);
    assert.notEqual(await page().getByTestId('deployed-id').textContent(), before);

    await confirmed(() => page().locator('button[data-action="rollback"]').click(), new RegExp(`^deployed configuration ${before}\n`));
    await c.allRunning(NODES);
    await eventually(async () => (await page().getByTestId('deployed-id').textContent()) === before && (await row('worker-03').count()) === 0, 5000);
    assert.match(await page().locator('tr[data-deployment]').first().textContent() ?? '', /^\S+ \S+rollback/);
  });

  test('an agent that goes away greys its instance and nodes at once; they come back when it returns', async () => {
    process.kill(c.agent.pid, 'SIGKILL');
    await c.agent.exited();
    await eventually(async () => (await page().locator('tr[data-node][data-stale="true"]').count()) === NODES.length, 3000);
    assert.match(await page().locator(`tr[data-instance="${AGENT}"]`).textContent() ?? '', /disconnected/);
    assert.match(await page().getByTestId('problems').textContent() ?? '', new RegExp(`instance ${AGENT} is not connected`));
    await c.startAgent();
    await eventually(async () => (await page().locator('tr[data-node][data-stale="false"]').count()) === NODES.length, 10_000);
    assert.match(await page().locator(`tr[data-instance="${AGENT}"]`).textContent() ?? '', /connected/);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await eventually(async () => /\/s · .* 6\.\d\d% dropped/.test(await cell('worker-02', 10).textContent() ?? ''), 20_000, 200);
      await page().screenshot({ path: SCREENSHOT, fullPage: true });
    }
  });
});

describe('dashboard with authentication', () => {
  const operatorToken = 'op-dash-7c1e9a2b4d6f8e0a';
  const viewerToken = 'view-dash-3b5d7f9a1c2e4b6d';

  test('the page signs in with a token from its address (then dropped from it) or typed; a viewer sees no action, an operator every one', async () => {
    const auth = join(tempDir(), 'auth');
    writeFileSync(auth, `operator token:${operatorToken}\nviewer token:${viewerToken}\n`, { mode: 0o600 });
    const ctl = await startControllerProc(tempDir(), ['--auth-file', auth, '--require-auth']);
    const tab = await browser!.context.newPage();
    const actions = tab.locator('[data-action]');
    try {
      // No token: the page itself loads (it holds no data), its session is refused, it offers to sign in.
      await tab.goto(`http://127.0.0.1:${ctl.clientPort}/`);
      await tab.locator('[data-link="closed"]').waitFor();
      assert.match(await tab.getByTestId('problems').textContent() ?? '', /controller unreachable \(the controller cannot be reached, or wants a token \(sign in\)\)/);
      assert.equal(await tab.getByTestId('sign-in').count(), 1);
      assert.equal(await actions.count(), 0);

      // A token a browser cannot put in a subprotocol (base64's '/' and '='): said so, and the page can sign in again.
      await tab.goto(`http://127.0.0.1:${ctl.clientPort}/#token=${encodeURIComponent('abc/def+ghi=')}`);
      await eventually(async () => /a browser cannot send this token/.test(await tab.getByTestId('problems').textContent() ?? ''), 5000);
      assert.equal(await tab.getByTestId('sign-in').count(), 1);

      await tab.goto(`http://127.0.0.1:${ctl.clientPort}/#token=${viewerToken}`);
      await tab.locator('[data-link="open"]').waitFor();
      await eventually(async () => (await tab.locator('[data-role]').textContent()) === 'role: viewer', 5000);
      assert.equal(await actions.count(), 0, 'a viewer sees no action');
      assert.equal(tab.url(), `http://127.0.0.1:${ctl.clientPort}/`, 'the token left the address bar');
      await tab.reload();
      await eventually(async () => (await tab.locator('[data-role]').textContent()) === 'role: viewer', 5000);

      await tab.getByTestId('sign-in').locator('input').fill(operatorToken);
      await tab.getByTestId('sign-in').locator('button').click();
      await eventually(async () => (await tab.locator('[data-role]').textContent()) === 'role: operator', 5000);
      assert.deepEqual(await actions.evaluateAll((els) => els.map((e) => e.getAttribute('data-action'))), ['stage', 'deploy', 'rollback']);
      assert.equal(await tab.getByTestId('sign-in').count(), 0);
    } finally {
      await tab.close();
    }
  });

  test('a page from another origin cannot open a session, though an anonymous one on loopback is an operator', async () => {
    // The attack: a site the operator visits scripts a WebSocket to the controller on 127.0.0.1.
    const foreign = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.2', resolve));
    const tab = await browser!.context.newPage();
    try {
      await tab.goto(`http://127.0.0.2:${(foreign.address() as AddressInfo).port}/`);
      const tried = (url: string): Promise<string> => tab.evaluate((u) => new Promise<string>((resolve) => {
        const ws = new WebSocket(u);
        ws.onopen = () => { ws.close(); resolve('open'); };
        ws.onerror = () => resolve('refused');
      }), url);
      assert.equal(await tried(`ws://127.0.0.1:${c.clientPort}/v1/messages/json`), 'refused');
      // The same request from the dashboard's own origin opens.
      await tab.goto(`http://127.0.0.1:${c.clientPort}/`);
      assert.equal(await tried(`ws://127.0.0.1:${c.clientPort}/v1/messages/json`), 'open');
    } finally {
      await tab.close();
      foreign.close();
    }
  });
});
