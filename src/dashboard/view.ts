/**
 * The page, drawn from the model with Preact and htm (tagged templates, no
 * build step of their own): problems first, instances, nodes (state by
 * colour, stale rows greyed, capture figures per worker), configuration
 * (deployed, staged, their differences), the deployment history and the
 * live events. Actions are drawn only for an operator; each asks for
 * confirmation (ConfirmDialog) and shows its outcome.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { DeploymentInfo } from '../management/history.js';
import { bytes, count, duration } from '../client/table.js';
import { describeExit, type EventLine, type InstanceView, type Model, type NodeRow } from './model.js';

/** What the page can do; each returns the lines to show as the outcome. */
export interface Actions {
  restart(node: string): Promise<Outcome>;
  stage(file: File): Promise<Outcome>;
  deploy(): Promise<Outcome>;
  rollback(configId: string): Promise<Outcome>;
}

export interface Outcome { ok: boolean; lines: string[] }

/** An action waiting for the operator's confirmation, or its outcome once run. */
export type Dialog =
  | { kind: 'confirm'; title: string; body: string; run: () => Promise<Outcome> }
  | { kind: 'running'; title: string }
  | { kind: 'outcome'; title: string; outcome: Outcome };

export interface PageProps {
  model: Model;
  rows: NodeRow[];
  problems: string[];
  now: number;
  dialog: Dialog | undefined;
  actions: Actions;
  ask(dialog: Dialog | undefined): void;
  /** Opens a new session offering this bearer token (an empty one: none). */
  signIn(token: string): void;
}

const operator = (m: Model): boolean => m.role === 'operator';

export function Page(p: PageProps): VNode {
  const { model: m } = p;
  const running = p.rows.filter((r) => r.state === 'RUNNING' && !r.stale).length;
  return html`
    <header>
      <h1>zeek-mgmt</h1>
      <span class=${`pill link-${m.link}`} data-link=${m.link}>${m.link === 'open' ? 'live' : m.link === 'connecting' ? 'connecting…' : 'disconnected'}</span>
      <span class="summary">${running} of ${p.rows.length} nodes running · ${[...m.instances.values()].filter((i) => i.connected).length} of ${m.instances.size} instances connected</span>
      <span class="role" data-role=${m.role ?? ''}>${m.role ? `role: ${m.role}` : ''}</span>
      ${m.link === 'closed' || m.role === 'viewer' ? html`<${SignIn} signIn=${p.signIn} />` : null}
    </header>
    <main>
      ${p.problems.length > 0
        ? html`<section class="problems" data-testid="problems"><h2>Problems</h2><ul>${p.problems.map((t) => html`<li>${t}</li>`)}</ul></section>`
        : html`<section class="problems none" data-testid="problems"><h2>No problems</h2></section>`}
      <${Nodes} ...${p} />
      <${Instances} model=${m} now=${p.now} />
      <div class="columns">
        <${ConfigPanel} ...${p} />
        <${Events} events=${m.events} />
      </div>
      <${History} ...${p} />
    </main>
    ${p.dialog ? html`<${DialogView} dialog=${p.dialog} ask=${p.ask} />` : null}
  `;
}

/** A token for the controller (from its auth file, or printed by `zeek-mgmt up --require-auth`); kept for this tab only. */
function SignIn({ signIn }: { signIn(token: string): void }): VNode {
  const submit = (e: Event): void => {
    e.preventDefault();
    const field = (e.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    signIn(field.value.trim());
    field.value = '';
  };
  return html`<form class="sign-in" data-testid="sign-in" onSubmit=${submit}>
    <input type="password" name="token" placeholder="token" autocomplete="off" aria-label="token" />
    <button type="submit">sign in</button>
  </form>`;
}

function Instances({ model: m }: { model: Model; now: number }): VNode {
  const list = [...m.instances.values()].sort((a, b) => Number(a.connected) - Number(b.connected) || a.name.localeCompare(b.name));
  return html`<section><h2>Instances</h2>
    <table class="instances"><thead><tr><th>instance</th><th>connection</th><th>address</th><th>agent pid</th><th>uptime</th><th>RSS</th></tr></thead>
    <tbody>${list.map((i: InstanceView) => html`<tr data-instance=${i.name} class=${i.connected ? '' : 'stale'}>
      <td>${i.name}</td>
      <td><span class=${`pill ${i.connected ? 'state-RUNNING' : 'state-CRASHED'}`}>${i.connected ? 'connected' : 'disconnected'}</span></td>
      <td>${i.host ?? '-'}</td><td>${i.agent?.pid ?? '-'}</td>
      <td>${i.agent?.uptimeMs === undefined ? '-' : duration(i.agent.uptimeMs / 1000)}</td>
      <td>${i.agent?.rssBytes === undefined ? '-' : bytes(i.agent.rssBytes)}</td></tr>`)}</tbody></table>
  </section>`;
}

function ports(r: NodeRow): string {
  const s = r.status;
  if (!s) return '-';
  const parts = [s.port ? String(s.port.number) : '', ...Object.entries(s.backendPorts ?? {}).map(([k, p]) => `${k} ${p.number}`), s.metricsPort ? `metrics ${s.metricsPort.number}` : ''];
  return parts.filter((x) => x !== '').join(', ') || '-';
}

function captureCell(r: NodeRow): VNode | string {
  const c = r.capture;
  if (!c) return r.role === 'WORKER' ? '-' : '';
  return html`<span class=${c.dropPercent >= 1 ? 'drops-high' : ''} title=${`${c.received} packets received, ${c.dropped} dropped since the node started`}>
    ${c.pps === undefined ? '' : `${count(Math.round(c.pps))}/s · `}${count(c.received)} rx · ${c.dropPercent.toFixed(2)}% dropped</span>`;
}

function Nodes(p: PageProps): VNode {
  const act = operator(p.model);
  const restart = (name: string): void => p.ask({ kind: 'confirm', title: `Restart ${name}?`, body: `The node's process is stopped and started again; it is down for a few seconds.`, run: () => p.actions.restart(name) });
  return html`<section><h2>Nodes</h2>
    <table class="nodes"><thead><tr><th>state</th><th>node</th><th>role</th><th>instance</th><th>pid</th><th>uptime</th><th>CPU</th><th>RSS</th><th>restarts</th><th>ports</th><th>capture</th><th>last exit</th>${act ? html`<th></th>` : null}</tr></thead>
    <tbody>${p.rows.map((r) => html`<tr data-node=${r.name} data-state=${r.state} data-stale=${String(r.stale)} class=${`sev-${r.severity}${r.stale ? ' stale' : ''}`}>
      <td><span class=${`pill state-${r.state}`}>${r.state}</span>${r.stale ? html` <span class="stale-note" title="no recent report from its agent">stale</span>` : null}</td>
      <td class="name">${r.name}</td><td>${r.role.toLowerCase()}</td><td>${r.instance}</td>
      <td>${r.status?.pid ?? '-'}</td>
      <td>${r.status?.uptimeMs === undefined ? '-' : duration(r.status.uptimeMs / 1000)}</td>
      <td>${r.status?.cpuPercent === undefined ? '-' : `${r.status.cpuPercent.toFixed(1)}%`}</td>
      <td>${r.status?.rssBytes === undefined ? '-' : bytes(r.status.rssBytes)}</td>
      <td class=${(r.status?.restarts ?? 0) > 0 ? 'warn' : ''}>${r.status?.restarts ?? '-'}</td>
      <td class="ports">${ports(r)}</td>
      <td>${captureCell(r)}</td>
      <td class="exit" title=${r.status?.lastExit ? `${r.status.lastExit.description} at ${r.status.lastExit.time}` : ''}>${describeExit(r.status?.lastExit, p.now)}</td>
      ${act ? html`<td><button data-action="restart" onClick=${() => restart(r.name)}>Restart</button></td>` : null}
    </tr>`)}</tbody></table>
  </section>`;
}

function ConfigPanel(p: PageProps): VNode {
  const m = p.model;
  const act = operator(m);
  const { deployed, staged } = m;
  const pending = staged !== undefined && staged.id !== deployed?.id;
  const pick = (e: Event): void => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) p.ask({ kind: 'confirm', title: `Stage ${file.name}?`, body: 'It replaces the staged configuration; nothing runs until it is deployed.', run: () => p.actions.stage(file) });
  };
  const deploy = (): void => p.ask({ kind: 'confirm', title: `Deploy configuration ${staged!.id}?`, body: 'Nodes whose configuration changed are restarted.', run: () => p.actions.deploy() });
  const rollback = (): void => p.ask({ kind: 'confirm', title: 'Roll back?', body: 'The last good configuration before the deployed one is deployed again.', run: () => p.actions.rollback('') });
  return html`<section class="config"><h2>Configuration</h2>
    <dl>
      <dt>deployed</dt><dd data-testid="deployed-id">${deployed?.id ?? 'none'}</dd>
      <dt>staged</dt><dd data-testid="staged-id">${staged ? `${staged.id}${pending ? ' (not deployed)' : ' (deployed)'}` : 'none'}</dd>
    </dl>
    ${act ? html`<div class="actions">
      <label class="button">Stage a file…<input type="file" accept=".ini,.cfg,.conf,text/plain" data-action="stage" onChange=${pick} /></label>
      <button data-action="deploy" disabled=${!staged} onClick=${deploy}>Deploy staged</button>
      <button data-action="rollback" disabled=${!deployed} onClick=${rollback}>Roll back</button>
    </div>` : null}
    ${pending && m.diff ? html`<h3>Staged vs deployed</h3><pre class="diff" data-testid="diff">${m.diff}</pre>` : null}
  </section>`;
}

function History(p: PageProps): VNode {
  const m = p.model;
  const act = operator(m);
  const rollbackTo = (d: DeploymentInfo): void => p.ask({ kind: 'confirm', title: `Roll back to ${d.configId}?`, body: `Configuration ${d.configId} (deployed ${d.started}) is deployed again.`, run: () => p.actions.rollback(d.configId) });
  return html`<section><h2>Deployment history</h2>
    <table class="history"><thead><tr><th>started</th><th>kind</th><th>configuration</th><th>outcome</th><th>nodes</th><th>by</th>${act ? html`<th></th>` : null}</tr></thead>
    <tbody>${m.history.map((d) => {
      const nodes = Object.values(d.nodes);
      const failed = nodes.filter((n) => !n.success).length;
      return html`<tr data-deployment=${d.id} class=${`outcome-${d.outcome ?? 'running'}`}>
        <td>${d.started.replace('T', ' ').replace(/\.\d+Z?$/, '')}</td><td>${d.kind}</td><td>${d.configId}${d.configId === m.deployed?.id ? ' (deployed)' : ''}</td>
        <td>${d.outcome ?? 'running'}</td><td>${nodes.length - failed} ok${failed ? `, ${failed} failed` : ''}${d.errors.length ? `; ${d.errors.join('; ')}` : ''}</td><td>${d.who ?? '-'}</td>
        ${act ? html`<td>${d.outcome === 'success' && d.configId !== m.deployed?.id ? html`<button data-action="rollback-to" onClick=${() => rollbackTo(d)}>Roll back to this</button>` : null}</td>` : null}
      </tr>`;
    })}</tbody></table>
  </section>`;
}

function Events({ events }: { events: EventLine[] }): VNode {
  return html`<section class="events"><h2>Events</h2>
    <ol data-testid="events">${events.map((e) => html`<li class=${`ev-${e.level}`}><time>${new Date(e.at).toTimeString().slice(0, 8)}</time> ${e.text}</li>`)}</ol>
  </section>`;
}

function DialogView({ dialog, ask }: { dialog: Dialog; ask: (d: Dialog | undefined) => void }): VNode {
  const run = async (d: Extract<Dialog, { kind: 'confirm' }>): Promise<void> => {
    ask({ kind: 'running', title: d.title.replace(/\?$/, '…') });
    let outcome: Outcome;
    try {
      outcome = await d.run();
    } catch (err) {
      outcome = { ok: false, lines: [(err as Error).message] };
    }
    ask({ kind: 'outcome', title: d.title.replace(/\?$/, ''), outcome });
  };
  return html`<div class="backdrop"><div class="dialog" role="dialog" aria-modal="true" data-dialog=${dialog.kind}>
    <h3>${dialog.title}</h3>
    ${dialog.kind === 'confirm' ? html`<p>${dialog.body}</p>
      <div class="buttons"><button data-action="cancel" onClick=${() => ask(undefined)}>Cancel</button><button class="primary" data-action="confirm" onClick=${() => void run(dialog)}>Confirm</button></div>` : null}
    ${dialog.kind === 'running' ? html`<p>Waiting for the controller…</p>` : null}
    ${dialog.kind === 'outcome' ? html`<p class=${dialog.outcome.ok ? 'ok' : 'failed'} data-outcome=${dialog.outcome.ok ? 'ok' : 'failed'}>${dialog.outcome.ok ? 'Done.' : 'Failed.'}</p>
      <pre>${dialog.outcome.lines.join('\n')}</pre>
      <div class="buttons"><button data-action="close" onClick=${() => ask(undefined)}>Close</button></div>` : null}
  </div></div>`;
}
