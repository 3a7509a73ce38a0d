/**
 * What every client command gets: validated settings, the stderr log, and
 * where its output goes. Built once from the global options, so the
 * commands themselves never look at process state.
 */
import { hostname } from 'node:os';
import { createClientLog, type ClientLog } from './log.js';
import { clientSettings, Settings, type ClientSettings } from './settings.js';
import { ControllerConnection, type Outcome } from './connection.js';

export interface GlobalOptions {
  configfile?: string;
  controller?: string;
  set?: string[];
  quiet?: boolean;
  verbose?: number;
}

export interface ClientContext {
  readonly raw: Settings;
  readonly settings: ClientSettings;
  readonly log: ClientLog;
  readonly hostname: string;
  readonly stdout: (text: string) => void;
  readonly readStdin: () => Promise<string>;
  /** Whether progress may be drawn on stderr (a terminal, and not -q). Looked up when asked: process.stderr is opened on first use. */
  readonly interactive: boolean;
}

export async function buildContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<Outcome<ClientContext>> {
  const loaded = await Settings.load({ configFile: options.configfile, env, set: options.set, controller: options.controller, verbose: options.verbose });
  const typed = clientSettings(loaded.settings);
  const quiet = options.quiet === true;
  const verbosity = typed instanceof Error ? 0 : typed.verbosity;
  const log = createClientLog({ quiet, verbosity, rich: typed instanceof Error ? false : typed.richLogging });
  for (const e of loaded.errors) log.error(e);
  if (typed instanceof Error) return { ok: false, error: typed.message };
  if (loaded.settings.get('ssl', 'disable') !== undefined) {
    log.warning('The ssl.disable setting is deprecated and ignored. Controller connections now default to plaintext. Use ssl.enable to enable encryption.');
  }
  return {
    ok: true,
    value: {
      raw: loaded.settings,
      settings: typed,
      log,
      hostname: hostname() || 'localhost',
      stdout: (text) => { process.stdout.write(text); },
      readStdin,
      get interactive() { return !quiet && process.stderr.isTTY === true; },
    },
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Connects, or logs where it tried and returns undefined. */
export async function openConnection(ctx: ClientContext): Promise<ControllerConnection | undefined> {
  const conn = new ControllerConnection(ctx.settings, ctx.raw, ctx.log);
  const r = await conn.connect();
  if (!r.ok) {
    ctx.log.error(r.error);
    return undefined;
  }
  return conn;
}
