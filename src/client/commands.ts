/**
 * The zeek-client commands. Each returns its exit status: 0 on success, 1
 * for failed results, no response before the timeout, an unreachable
 * controller or a configuration file that does not parse — as zeek-client.
 * What only some commands use (the cluster configuration file, notifications,
 * progress, the node table) is imported when they run, so that a one-shot
 * command loads no more than it needs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ControllerApi as api } from '../management/api.js';
import type { RequestSpec } from '../management/events.js';
import { printable } from '../management/printable.js';
import { decodeConfiguration } from '../management/records.js';
import type { Configuration, Result } from '../management/types.js';
import type { ControllerConnection } from './connection.js';
import { openConnection, type ClientContext } from './context.js';
import { pythonJson } from './json-output.js';
import {
  deployJson, getIdValueJson, getInstancesJson, getNodesJson, restartJson, stageJson, type Shaped,
} from './results.js';

export const noResponse = (ctx: ClientContext, msg: string): number => { ctx.log.error(msg); return 1; };

export function print(ctx: ClientContext, shaped: Shaped): number {
  for (const w of shaped.warnings) ctx.log.warning(w);
  for (const f of shaped.failures) ctx.log.error(f);
  ctx.stdout(`${pythonJson(shaped.json, ctx.settings.prettyJson)}\n`);
  return shaped.exitCode;
}

/** Sends one request and shows its response with `show`; no response in time is exit status 1. */
async function ask<A extends readonly unknown[], R>(ctx: ClientContext, conn: ControllerConnection, spec: RequestSpec<A, R>, args: A, show: (response: R) => number | Promise<number>): Promise<number> {
  const r = await conn.request(spec, ...args);
  return r.ok ? show(r.value) : noResponse(ctx, r.error);
}

/** A command that is one request: connect, ask, show the response. */
export function askOnce<A extends readonly unknown[], R>(ctx: ClientContext, spec: RequestSpec<A, R>, args: A, show: (response: R) => number | Promise<number>): Promise<number> {
  return withConnection(ctx, (conn) => ask(ctx, conn, spec, args, show));
}

export async function withConnection(ctx: ClientContext, run: (conn: ControllerConnection) => Promise<number>): Promise<number> {
  const conn = await openConnection(ctx);
  if (!conn) return 1;
  try {
    return await run(conn);
  } finally {
    await conn.close();
  }
}

export function getInstances(ctx: ClientContext): Promise<number> {
  return askOnce(ctx, api.getInstances, [], (result) => {
    const shaped = getInstancesJson(result);
    if ('error' in shaped) { ctx.log.error(shaped.error); return 1; }
    return print(ctx, shaped);
  });
}

/** A parsed cluster configuration and the directory of site scripts to pack for it, if any. */
export interface LoadedConfig { config: Configuration; scriptsDir?: string }

/**
 * Reads and parses a cluster configuration file (`-` is stdin); logs the
 * problem and returns undefined when it does not parse. `scriptsDir`
 * (`--scripts`) is the bundle's directory; a `[scripts] dir` is relative
 * to the file's directory.
 */
export async function loadClusterConfig(ctx: ClientContext, file: string, scriptsDir?: string): Promise<LoadedConfig | undefined> {
  let text: string;
  const source = file === '-' ? '<stdin>' : file;
  try {
    text = file === '-' ? await ctx.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    ctx.log.error(`please provide a cluster configuration file: cannot read ${file}: ${why}`);
    return undefined;
  }
  const { parseClusterConfig } = await import('./cluster-config.js');
  const parsed = parseClusterConfig(text, { source, hostname: ctx.hostname });
  if (!parsed.ok) {
    ctx.log.error(parsed.error);
    ctx.log.error('configuration has errors, not sending');
    return undefined;
  }
  for (const w of parsed.warnings) ctx.log.notice(w);
  const { config } = parsed;
  if (scriptsDir !== undefined) {
    if (parsed.scripts || config.cluster?.bundle) {
      ctx.log.error(`${source} has a [scripts] section and --scripts names a directory: use one`);
      return undefined;
    }
    return { config, scriptsDir };
  }
  if (!parsed.scripts) return { config };
  return { config, scriptsDir: file === '-' ? resolve(parsed.scripts.dir) : resolve(dirname(file), parsed.scripts.dir) };
}

/**
 * Packs the directory of site scripts and uploads it in chunks (nothing is
 * sent when the controller has it already); the configuration then names
 * it by its hash. Undefined (logged) when it cannot be.
 */
async function withBundle(ctx: ClientContext, conn: ControllerConnection, loaded: LoadedConfig): Promise<Configuration | undefined> {
  if (loaded.scriptsDir === undefined) return loaded.config;
  const [{ packBundle }, { BUNDLE_CHUNK_BYTES, formatBytes }] = await Promise.all([import('./bundle-pack.js'), import('../management/bundle.js')]);
  const packed = await packBundle(loaded.scriptsDir);
  if (!packed.ok) {
    ctx.log.error(`script bundle: ${packed.error}`);
    return undefined;
  }
  const { hash, archive, files, entry } = packed.value;
  if (entry === undefined) ctx.log.warning(`${loaded.scriptsDir} has neither __load__.zeek nor local.zeek: nodes load none of it unless their scripts name its files (site/NAME.zeek)`);
  let offset = 0;
  for (;;) {
    const chunk = archive.subarray(offset, offset + BUNDLE_CHUNK_BYTES).toString('base64');
    const r = await conn.request(api.uploadBundle, hash, offset, archive.length, chunk);
    if (!r.ok) { noResponse(ctx, r.error); return undefined; }
    const received = r.value.data?.type === 'count' ? Number(r.value.data.value) : undefined;
    if (!r.value.success || received === undefined || (received <= offset && received !== archive.length)) {
      ctx.log.error(`script bundle upload failed: ${r.value.error ?? 'the controller answered without a byte count'}`);
      return undefined;
    }
    if (received === archive.length) break;
    offset = received;
  }
  ctx.log.info(`script bundle ${hash}: ${files} files, ${formatBytes(archive.length)}, stored on the controller`);
  return { ...loaded.config, cluster: { ...loaded.config.cluster, bundle: hash } };
}

/** Uploads the configuration's bundle, then sends `spec` with the configuration. */
function askWithConfig<R>(ctx: ClientContext, loaded: LoadedConfig, spec: RequestSpec<[Configuration], R>, show: (response: R, config: Configuration, conn: ControllerConnection) => number | Promise<number>): Promise<number> {
  return withConnection(ctx, async (conn) => {
    const config = await withBundle(ctx, conn, loaded);
    return config ? ask(ctx, conn, spec, [config], (r) => show(r, config, conn)) : 1;
  });
}

export async function stageConfig(ctx: ClientContext, file: string, scriptsDir?: string): Promise<number> {
  const loaded = await loadClusterConfig(ctx, file, scriptsDir);
  if (!loaded) return 1;
  return askWithConfig(ctx, loaded, api.stageConfiguration, (results) => print(ctx, stageJson(results)));
}

/** Ours: `--rollback-on-failure` deploys with deploy_with_rollback instead of deploy. */
export interface DeployOptions { rollbackOnFailure?: boolean }

async function runDeploy(ctx: ClientContext, conn: ControllerConnection, nodes: string[] | undefined, options: DeployOptions): Promise<number> {
  let progress: import('./progress.js').DeployProgress | undefined;
  if (ctx.interactive) {
    const staged = nodes ? undefined : await fetchConfig(conn, false);
    const deployedId = staged ? (await fetchConfig(conn, true))?.id : undefined;
    if (staged && staged.id === deployedId) {
      process.stderr.write(`configuration ${printable(staged.id)} is deployed already: agents that run it keep their nodes as they are\n`);
    } else {
      const { DeployProgress } = await import('./progress.js');
      progress = new DeployProgress(conn, nodes ?? staged?.nodes.map((n) => n.name) ?? [], (line) => process.stderr.write(line));
    }
  }
  try {
    const spec = options.rollbackOnFailure ? api.deployWithRollback : api.deploy;
    return await ask(ctx, conn, spec, [], (results) => print(ctx, deployJson(results)));
  } finally {
    progress?.close();
  }
}

/** The staged or deployed configuration, for the progress display; undefined when there is none. */
async function fetchConfig(conn: ControllerConnection, deployed: boolean): Promise<Configuration | undefined> {
  const r = await conn.request(api.getConfiguration, deployed);
  if (!r.ok || !r.value.success || r.value.data === undefined) return undefined;
  try {
    return decodeConfiguration(r.value.data, 'data');
  } catch {
    return undefined;
  }
}

export function deploy(ctx: ClientContext, options: DeployOptions = {}): Promise<number> {
  return withConnection(ctx, (conn) => runDeploy(ctx, conn, undefined, options));
}

export async function deployConfig(ctx: ClientContext, file: string, options: DeployOptions & { scriptsDir?: string } = {}): Promise<number> {
  const loaded = await loadClusterConfig(ctx, file, options.scriptsDir);
  if (!loaded) return 1;
  return askWithConfig(ctx, loaded, api.stageConfiguration, (results, config, conn) => {
    const shaped = stageJson(results);
    return shaped.exitCode !== 0 ? print(ctx, shaped) : runDeploy(ctx, conn, config.nodes.map((n) => n.name), options);
  });
}

/** `id` (ours): a configuration of the deployment history, by its id or a deployment's. */
export interface GetConfigOptions { asJson?: boolean; deployed?: boolean; filename?: string; id?: string }

/**
 * zeekctl's check: every node's scripts parsed by its agent's runtime (zeek
 * -a with the node's layout and environment); nothing is started or stored.
 * The JSON is deploy's; the reason for each failed node goes to stderr.
 */
export async function check(ctx: ClientContext, file: string, scriptsDir?: string): Promise<number> {
  const loaded = await loadClusterConfig(ctx, file, scriptsDir);
  if (!loaded) return 1;
  return askWithConfig(ctx, loaded, api.checkConfiguration, (results) => {
    // Each failure once: a node's as `node: reason` (the reason names the script check), others as deploy says them.
    const failures = results.filter((r) => !r.success && r.error).map((r) => (r.node === undefined ? r.error! : `${r.node}: ${r.error!}`));
    return print(ctx, { ...deployJson(results), failures });
  });
}

export function getConfig(ctx: ClientContext, options: GetConfigOptions): Promise<number> {
  const show = (res: Result): Promise<number> => writeConfig(ctx, res, options);
  if (options.id !== undefined) return askOnce(ctx, api.getConfigurationById, [options.id], show);
  return askOnce(ctx, api.getConfiguration, [options.deployed === true], show);
}

async function writeConfig(ctx: ClientContext, res: Result, options: GetConfigOptions): Promise<number> {
  if (!res.success) { ctx.log.error(res.error || 'no reason given'); return 1; }
  if (res.data === undefined) { ctx.log.error('received result did not contain configuration data'); return 1; }
  let config: Configuration;
  try {
    config = decodeConfiguration(res.data, 'data');
  } catch (err) {
    ctx.log.error(`received configuration is invalid: ${(err as Error).message}`);
    return 1;
  }
  const { configurationToJson, renderClusterConfig } = await import('./cluster-config.js');
  const text = options.asJson ? `${pythonJson(configurationToJson(config), ctx.settings.prettyJson)}\n` : renderClusterConfig(config);
  if (!options.filename || options.filename === '-') {
    ctx.stdout(text);
    return 0;
  }
  try {
    await writeFile(options.filename, text);
    return 0;
  } catch (err) {
    ctx.log.error(`cannot write ${options.filename}: ${(err as Error).message}`);
    return 1;
  }
}

export function getNodes(ctx: ClientContext, options: { table?: boolean }): Promise<number> {
  return askOnce(ctx, api.getNodes, [], async (results) => {
    const shaped = getNodesJson(results);
    if (!options.table) return print(ctx, shaped);
    for (const w of shaped.warnings) ctx.log.warning(w);
    const { renderNodeTable } = await import('./table.js');
    ctx.stdout(renderNodeTable(shaped.rows, shaped.json.errors));
    return shaped.exitCode;
  });
}

/** Disk use per instance (state, spool, archived logs). */
export function df(ctx: ClientContext, options: { table?: boolean }): Promise<number> {
  return askOnce(ctx, api.df, [], async (results) => {
    const { dfJson, renderDfTable } = await import('./df.js');
    const shaped = dfJson(results);
    if (!options.table) return print(ctx, shaped);
    for (const w of shaped.warnings) ctx.log.warning(w);
    ctx.stdout(renderDfTable(shaped.rows, shaped.errors));
    return shaped.exitCode;
  });
}

export function getIdValue(ctx: ClientContext, id: string, nodes: string[]): Promise<number> {
  return askOnce(ctx, api.getIdValue, [id, [...new Set(nodes)]], (results) => print(ctx, getIdValueJson(results)));
}

export function restart(ctx: ClientContext, nodes: string[]): Promise<number> {
  return askOnce(ctx, api.restart, [[...new Set(nodes)]], (results) => print(ctx, restartJson(results)));
}

export function testTimeout(ctx: ClientContext, withState: boolean): Promise<number> {
  return askOnce(ctx, api.testTimeout, [withState], (res) => {
    ctx.stdout(`${pythonJson({ success: res.success, error: res.error ?? null }, ctx.settings.prettyJson)}\n`);
    if (res.success) return 0;
    ctx.log.error(res.error || 'no reason given');
    return 1;
  });
}

export async function showSettings(ctx: ClientContext): Promise<number> {
  ctx.stdout(await ctx.raw.render());
  return 0;
}

/**
 * Prints the controller's notifications as they arrive, each with its time,
 * until Ctrl-C (quietly, exit 0) or the loss of the connection (said on
 * stderr, exit 1).
 */
export async function monitor(ctx: ClientContext): Promise<number> {
  // Ctrl-C is handled from the start: one that comes with the first lines is a quiet stop too.
  let stopping = false;
  let onSignal = (): void => undefined;
  const stop = new Promise<number>((resolve) => {
    onSignal = (): void => { stopping = true; resolve(0); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    const { formatNotification } = await import('./notifications.js');
    return await withConnection(ctx, async (conn) => {
      // Node output and peers' messages may hold escape sequences: printed escaped.
      conn.onEvent((event) => ctx.stdout(`${new Date().toISOString()} ${formatNotification(event)}\n`));
      const closed = conn.untilClosed().then((why) => {
        if (!stopping) ctx.log.error(`${why}; monitor stopped`);
        return 1;
      });
      return Promise.race([stop, closed]);
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
