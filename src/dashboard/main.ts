/**
 * The dashboard's entry point: one session with the controller (session.ts),
 * the model it feeds (model.ts), and the page drawn from it (view.ts).
 *
 * State changes arrive pushed: a forwarded notify_change updates its node at
 * once, and a status refresh follows shortly for its new pid; instances
 * connecting and going away, errors, output lines and cluster readiness
 * arrive the same way. CPU, RSS and capture figures, which change all the
 * time and are not pushed, are asked for every REFRESH_MS; the page is drawn
 * again every second so that what stops reporting turns stale.
 */
import { html, render } from 'htm/preact';
import { AgentApi, ControllerApi } from '../management/api.js';
import { decodeConfiguration, decodeInstance, decodeNodeStatus, readList } from '../management/records.js';
import { decodeDeploymentInfo } from '../management/history.js';
import type { Configuration, Result } from '../management/types.js';
import type { ZeekEvent } from '../protocol/event.js';
import { parseClusterConfig } from '../client/cluster-config.js';
import { describeDiff } from '../client/config-diff.js';
import { formatNotification } from '../client/notifications.js';
import {
  REFRESH_MS, addEvent, applyChange, applyDeployed, applyInstanceChange, applyInstances, applyNodeStatuses, emptyModel, nodeRows, problems,
  type EventLine,
} from './model.js';
import { Session, rememberToken } from './session.js';
import { Page, type Actions, type Dialog, type Outcome } from './view.js';

const HISTORY_ROWS = 15;
/** After a state change, the statuses are asked for again this much later (new pid, uptime), once for a burst of changes. */
const AFTER_CHANGE_MS = 300;

const model = emptyModel();
let dialog: Dialog | undefined;
let drawQueued = false;

function draw(): void {
  if (drawQueued) return;
  drawQueued = true;
  queueMicrotask(() => {
    drawQueued = false;
    const now = Date.now();
    const rows = nodeRows(model, now);
    const ask = (d: Dialog | undefined): void => { dialog = d; draw(); };
    render(html`<${Page} model=${model} rows=${rows} problems=${problems(model, rows, now)} now=${now} dialog=${dialog} actions=${actions} ask=${ask} signIn=${signIn} />`, document.body);
  });
}

const session = new Session(window.location, {
  onLink(link) {
    const was = model.link;
    model.link = link.state;
    model.linkWhy = link.state === 'closed' ? link.why : undefined;
    if (link.state === 'open') {
      addEvent(model, { at: Date.now(), level: 'info', text: `connected to the controller ${link.endpoint}` });
      void loadAll();
    }
    if (link.state === 'closed' && was === 'open') addEvent(model, { at: Date.now(), level: 'error', text: `lost the controller: ${link.why}` });
    draw();
  },
  onEvent: notified,
});

/** A new session with the credentials now at hand (its role is asked again). */
function reconnect(): void {
  model.role = undefined;
  session.reopen();
}

function signIn(token: string): void {
  rememberToken(token);
  reconnect();
}

/** The session's role: the controller says which (an operator sees the actions, a viewer does not). */
async function loadRole(): Promise<void> {
  const r = await session.request(ControllerApi.getSessionRole);
  const role = r.ok && r.value.success && r.value.data?.type === 'string' ? r.value.data.value : undefined;
  model.role = role === 'operator' ? 'operator' : 'viewer';
}

async function loadInstances(): Promise<void> {
  const r = await session.request(ControllerApi.getInstances);
  if (!r.ok || !r.value.success || r.value.data === undefined) return;
  applyInstances(model, readList(r.value.data, 'data', 'vector').map((v, i) => decodeInstance(v, `data[${i}]`)));
}

async function loadNodes(): Promise<void> {
  const r = await session.request(ControllerApi.getNodes);
  if (!r.ok) return;
  const perInstance: { instance: string; statuses: ReturnType<typeof decodeNodeStatus>[] }[] = [];
  const errors: string[] = [];
  for (const res of r.value) {
    if (!res.success || res.data === undefined) {
      errors.push(`${res.instance ?? 'controller'}: ${res.error ?? 'no node status'}`);
      continue;
    }
    try {
      perInstance.push({ instance: res.instance ?? '?', statuses: readList(res.data, 'data', 'vector').map((v, i) => decodeNodeStatus(v, `data[${i}]`)) });
    } catch (err) {
      errors.push(`${res.instance ?? '?'}: invalid node status (${(err as Error).message})`);
    }
  }
  applyNodeStatuses(model, perInstance, errors.filter((e) => !e.endsWith(': no instances connected')), Date.now());
}

async function configuration(deployed: boolean): Promise<Configuration | undefined> {
  const r = await session.request(ControllerApi.getConfiguration, deployed);
  if (!r.ok || !r.value.success || r.value.data === undefined) return undefined;
  const config = decodeConfiguration(r.value.data, 'data');
  if (deployed) return config;
  // The staged configuration as it will be deployed (ports assigned), as diff-config compares it.
  const ready = await session.request(ControllerApi.getConfigurationById, config.id);
  return ready.ok && ready.value.success && ready.value.data !== undefined ? decodeConfiguration(ready.value.data, 'data') : config;
}

async function loadConfigs(): Promise<void> {
  const [deployed, staged] = await Promise.all([configuration(true), configuration(false)]);
  applyDeployed(model, deployed);
  model.staged = staged;
  model.diff = deployed && staged && deployed.id !== staged.id ? describeDiff(deployed, staged) : undefined;
}

async function loadHistory(): Promise<void> {
  const r = await session.request(ControllerApi.getDeployments, HISTORY_ROWS);
  if (!r.ok || !r.value.success || r.value.data === undefined) return;
  model.history = readList(r.value.data, 'data', 'vector').map((v, i) => decodeDeploymentInfo(v, `data[${i}]`));
}

/** Runs loaders, drawing once they are done; a loader's failure is an event line, not the end of the page. */
async function load(...loaders: (() => Promise<void>)[]): Promise<void> {
  await Promise.all(loaders.map((l) => l().catch((err: Error) => addEvent(model, { at: Date.now(), level: 'error', text: `dashboard: ${err.message}` }))));
  draw();
}

const loadAll = (): Promise<void> => load(loadRole, loadInstances, loadConfigs, loadHistory).then(() => load(loadNodes));

let afterChange: number | undefined;
function refreshSoon(): void {
  if (afterChange !== undefined) return;
  afterChange = window.setTimeout(() => { afterChange = undefined; void load(loadNodes); }, AFTER_CHANGE_MS);
}

function notified(event: ZeekEvent): void {
  const line: EventLine = { at: Date.now(), level: 'info', text: formatNotification(event) };
  try {
    switch (event.name) {
      case AgentApi.notifyChange.name: {
        const [instance, node, , to] = AgentApi.notifyChange.decode(event);
        applyChange(model, instance, node, to);
        line.level = to === 'CRASHED' || to === 'FAILED' ? 'error' : 'change';
        refreshSoon();
        break;
      }
      case AgentApi.notifyError.name: line.level = 'error'; break;
      case AgentApi.notifyLog.name: line.level = 'log'; break;
      case ControllerApi.notifyInstanceState.name: {
        const [instance, connected] = ControllerApi.notifyInstanceState.decode(event);
        applyInstanceChange(model, instance, connected);
        line.level = connected ? 'change' : 'error';
        void load(loadInstances, loadNodes);
        break;
      }
      case ControllerApi.notifyClusterReady.name: void load(loadConfigs, loadHistory); break;
    }
  } catch {
    line.level = 'error';
  }
  addEvent(model, line);
  draw();
}

/** The lines of an action's Results: the overall one first (`done`, with the configuration id it names), then one per node or instance. */
function outcomeOf(results: readonly Result[], done: string, each = done): Outcome {
  const lines = [...results].sort((a, b) => Number(a.node !== undefined || a.instance !== undefined) - Number(b.node !== undefined || b.instance !== undefined)).map((r) => {
    const who = r.node ?? r.instance;
    if (!r.success) return `${who ? `${who}: ` : ''}${r.error ?? 'failed'}`;
    return who ? `${who}: ${each}` : `${done}${r.data?.type === 'string' ? ` configuration ${r.data.value}` : ''}`;
  });
  return { ok: results.every((r) => r.success), lines: lines.length > 0 ? lines : [done] };
}

const failed = (error: string): Outcome => ({ ok: false, lines: [error] });

const actions: Actions = {
  async restart(node) {
    const r = await session.request(ControllerApi.restart, [node]);
    void load(loadNodes);
    return r.ok ? outcomeOf(r.value, 'restarted') : failed(r.error);
  },
  async stage(file) {
    const connected = [...model.instances.values()].filter((i) => i.connected).map((i) => i.name);
    const parsed = parseClusterConfig(await file.text(), { source: file.name, hostname: 'dashboard', ...(connected.length === 1 ? { localInstance: connected[0]! } : {}) });
    if (!parsed.ok) return failed(parsed.error);
    if (parsed.scripts) return failed(`${file.name}: a [scripts] dir is packed from the client's disk; stage this file with zeek-mgmt stage-config`);
    const r = await session.request(ControllerApi.stageConfiguration, parsed.config);
    void load(loadConfigs);
    if (!r.ok) return failed(r.error);
    const outcome = outcomeOf(r.value, 'staged as');
    return { ...outcome, lines: [...parsed.warnings.map((w) => `warning: ${w}`), ...outcome.lines] };
  },
  async deploy() {
    const r = await session.request(ControllerApi.deploy);
    void load(loadConfigs, loadHistory, loadNodes);
    return r.ok ? outcomeOf(r.value, 'deployed', 'ok') : failed(r.error);
  },
  async rollback(configId) {
    const r = await session.request(ControllerApi.rollback, configId);
    void load(loadConfigs, loadHistory, loadNodes);
    return r.ok ? outcomeOf(r.value, 'deployed', 'ok') : failed(r.error);
  },
};

session.open();
// An address with a token pasted into this tab (only the fragment changed: no new page) signs in at once.
window.addEventListener('hashchange', () => { if (/(?:^#|&)token=/.test(window.location.hash)) reconnect(); });
window.setInterval(() => { if (model.link === 'open') void load(loadNodes, loadInstances); }, REFRESH_MS);
window.setInterval(draw, 1000);
draw();
