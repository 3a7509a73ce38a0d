/**
 * Ours, beyond zeek-client: stop, start, restart --rolling, the deployment
 * history (get-deployments, diff-config, rollback) and diag. Loaded only
 * when one of them runs.
 */
import { ControllerApi as api, DEFAULT_HISTORY_ROWS } from '../management/api.js';
import type { RequestSpec } from '../management/events.js';
import { decodeDeploymentInfo, type DeploymentInfo } from '../management/history.js';
import { decodeConfiguration, readList } from '../management/records.js';
import type { Configuration, Result } from '../management/types.js';
import { askOnce, noResponse, print, withConnection } from './commands.js';
import type { ControllerConnection } from './connection.js';
import type { ClientContext } from './context.js';
import { pythonJson } from './json-output.js';
import { deployJson, restartJson } from './results.js';
import { renderColumns } from './table.js';

export function stop(ctx: ClientContext, nodes: string[]): Promise<number> {
  return askOnce(ctx, api.stop, [[...new Set(nodes)]], (results) => print(ctx, restartJson(results)));
}

export function start(ctx: ClientContext, nodes: string[]): Promise<number> {
  return askOnce(ctx, api.start, [[...new Set(nodes)]], (results) => print(ctx, restartJson(results)));
}

/** One node at a time; in a terminal, each state change as it happens on stderr. */
export function rollingRestart(ctx: ClientContext, nodes: string[]): Promise<number> {
  return withConnection(ctx, async (conn) => {
    let off: (() => void) | undefined;
    if (ctx.interactive) {
      const { formatNotification } = await import('./notifications.js');
      off = conn.onEvent((event) => { if (event.name === 'Management::Agent::API::notify_change') process.stderr.write(`${formatNotification(event)}\n`); });
    }
    const r = await conn.requestPatiently(api.rollingRestart, [...new Set(nodes)]);
    off?.();
    return r.ok ? print(ctx, restartJson(r.value)) : noResponse(ctx, r.error);
  });
}

export function rollback(ctx: ClientContext, id: string | undefined): Promise<number> {
  return askOnce(ctx, api.rollback, [id ?? ''], (results) => print(ctx, deployJson(results)));
}

export interface HistoryOptions { limit?: string; table?: boolean }

/** The latest deployments, newest first: JSON, or a table for people. */
export async function getDeployments(ctx: ClientContext, options: HistoryOptions): Promise<number> {
  const limit = options.limit === undefined ? DEFAULT_HISTORY_ROWS : /^\d{1,3}$/.test(options.limit) ? Number(options.limit) : NaN;
  if (!(limit >= 1 && limit <= 100)) {
    ctx.log.error(`--limit must be a whole number from 1 to 100, got ${JSON.stringify(options.limit)}`);
    return 2;
  }
  return askOnce(ctx, api.getDeployments, [limit], (res) => {
    if (!res.success) { ctx.log.error(res.error || 'no reason given'); return 1; }
    let rows: DeploymentInfo[];
    try {
      rows = readList(res.data, 'data', 'vector').map((v, i) => decodeDeploymentInfo(v, `data[${i}]`));
    } catch (err) {
      ctx.log.error(`received deployment history is invalid: ${(err as Error).message}`);
      return 1;
    }
    if (options.table) {
      ctx.stdout(historyTable(rows));
      return 0;
    }
    const results = rows.map((d) => ({
      id: d.id, config_id: d.configId, kind: d.kind, who: d.who ?? null, started: d.started, ended: d.ended ?? null,
      outcome: d.outcome ?? null, nodes: d.nodes, errors: d.errors,
    }));
    ctx.stdout(`${pythonJson({ results, errors: [] }, ctx.settings.prettyJson)}\n`);
    return 0;
  });
}

function historyTable(rows: readonly DeploymentInfo[]): string {
  const head = ['STARTED', 'DEPLOYMENT', 'CONFIGURATION', 'KIND', 'OUTCOME', 'NODES', 'WHO'];
  return renderColumns([head, ...rows.map((d) => {
    const nodes = Object.entries(d.nodes);
    const failed = nodes.filter(([, o]) => !o.success).map(([n]) => n);
    const summary = nodes.length === 0 ? '-' : failed.length === 0 ? `${nodes.length} ok` : `${nodes.length - failed.length} ok, failed: ${failed.join(' ')}`;
    return [d.started.replace('T', ' ').replace(/\.\d+Z?$/, ''), d.id, d.configId, d.kind, d.outcome ?? 'running', summary, d.who ?? '-'];
  })]);
}

/** `staged`, `deployed`, or an id of the history (configuration or deployment). */
async function fetchConfig(ctx: ClientContext, conn: ControllerConnection, ref: string): Promise<Configuration | undefined> {
  const get = async <A extends readonly unknown[]>(spec: RequestSpec<A, Result>, ...args: A): Promise<Configuration | undefined> => {
    const r = await conn.request(spec, ...args);
    if (!r.ok) { noResponse(ctx, r.error); return undefined; }
    if (!r.value.success || r.value.data === undefined) { ctx.log.error(`${ref}: ${r.value.error || 'no configuration data'}`); return undefined; }
    try {
      return decodeConfiguration(r.value.data, 'data');
    } catch (err) {
      ctx.log.error(`received configuration is invalid: ${(err as Error).message}`);
      return undefined;
    }
  };
  if (ref !== 'staged' && ref !== 'deployed') return get(api.getConfigurationById, ref);
  const config = await get(api.getConfiguration, ref === 'deployed');
  // The staged configuration as it will be deployed (ports assigned), like the history's.
  return ref === 'staged' && config ? (await get(api.getConfigurationById, config.id)) ?? config : config;
}

/** What changed from configuration A to B, section by section of their INI form. */
export function diffConfig(ctx: ClientContext, a: string, b: string): Promise<number> {
  return withConnection(ctx, async (conn) => {
    const [from, to] = [await fetchConfig(ctx, conn, a), await fetchConfig(ctx, conn, b)];
    if (!from || !to) return 1;
    const { describeDiff } = await import('./config-diff.js');
    ctx.stdout(describeDiff(from, to));
    return 0;
  });
}

export interface DiagOptions { output?: string }

/** Writes the node's diagnostics from its agent and the controller into one .tar.gz; prints where. */
export function diag(ctx: ClientContext, node: string, options: DiagOptions): Promise<number> {
  return askOnce(ctx, api.diag, [node], async (results) => {
    const { writeDiagArchive } = await import('./diag-archive.js');
    const written = await writeDiagArchive(node, results, options.output);
    if (!written.ok) { ctx.log.error(written.error); return 1; }
    const { file, files, errors } = written.value;
    ctx.stdout(`${pythonJson({ results: { file, files }, errors }, ctx.settings.prettyJson)}\n`);
    return errors.length === 0 ? 0 : 1;
  });
}
