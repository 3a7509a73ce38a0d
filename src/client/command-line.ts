/**
 * zeek-client's command line as data: the global options and the commands
 * (operands, options, what each runs), and the one place that runs a
 * command. client/cli.ts registers them with commander, which owns help,
 * usage errors and every other form; plainClientCommand() recognises the
 * plain form scripts use (global options, a command, its operands) without
 * loading commander at all, which is a tenth of a one-shot command's time.
 * Nothing here loads anything at start: the implementation is imported when
 * a command runs.
 */
import type { ClientContext, GlobalOptions } from './context.js';

type Commands = typeof import('./commands.js');
/** Ours beyond zeek-client's commands, loaded only when one runs. */
const ops = (): Promise<typeof import('./operations.js')> => import('./operations.js');

/** What a command does once the context is built. */
export type Run = (commands: Commands, ctx: ClientContext) => Promise<number> | number;

/** commander's parseArg: the option's value (undefined for a flag) and its previous value give the new one. */
type ParseArg = (value: never, previous: never) => unknown;

export interface OptionSpec {
  /** In commander's syntax: `-c, --configfile <FILE>`, `-q, --quiet`. */
  flags: string;
  description: string;
  parse?: ParseArg;
  default?: string;
  /** The option this one cannot be used with (commander checks). */
  conflicts?: string;
}

export interface CommandSpec {
  name: string;
  description: string;
  /** Operands in commander's syntax: `<FILE>` is required, `[NODES...]` optional and variadic. */
  operands?: readonly (readonly [syntax: string, description: string])[];
  options?: readonly OptionSpec[];
  /** Called as commander calls an action: each operand (a variadic one as an array), then the options object. */
  action: (...args: never[]) => Run;
}

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '-c, --configfile <FILE>', description: 'zeek-client config file (default: $ZEEK_CLIENT_CONFIG_FILE)' },
  { flags: '--controller <HOST:PORT>', description: 'address and port of the controller, either may be omitted (default: 127.0.0.1:2149)' },
  {
    flags: '--set <SECTION.KEY=VAL>', description: 'adjust a client setting; repeatable; see show-settings',
    parse: (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  },
  { flags: '-q, --quiet', description: 'suppress informational output to stderr' },
  {
    flags: '-v, --verbose', description: 'increase informational output to stderr; repeat for more (-vvv)',
    parse: (_v: undefined, prev: number | undefined) => (prev ?? 0) + 1,
  },
];

const FILE_OPERAND = ['<FILE>', 'cluster configuration file, "-" for stdin'] as const;
const ROLLBACK_OPTION: OptionSpec = {
  flags: '--rollback-on-failure', description: 'if the new configuration does not come up, deploy the last good one again (ours)',
};
const SCRIPTS_OPTION: OptionSpec = {
  flags: '--scripts <DIR>', description: 'a directory of site scripts every node loads (its local.zeek or __load__.zeek), sent as a script bundle; instead of [scripts] dir in FILE',
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'check', description: "parse every node's scripts with its agent's zeek (zeekctl's check): nothing is started or stored", operands: [FILE_OPERAND],
    options: [SCRIPTS_OPTION],
    action: (file: string, o: { scripts?: string }) => (c, ctx) => c.check(ctx, file, o.scripts),
  },
  {
    name: 'deploy', description: 'deploy the staged cluster configuration', options: [ROLLBACK_OPTION],
    action: (o: { rollbackOnFailure?: boolean }) => (c, ctx) => c.deploy(ctx, { rollbackOnFailure: o.rollbackOnFailure === true }),
  },
  {
    name: 'deploy-config', description: 'upload a cluster configuration and deploy it', operands: [FILE_OPERAND], options: [ROLLBACK_OPTION, SCRIPTS_OPTION],
    action: (file: string, o: { rollbackOnFailure?: boolean; scripts?: string }) => (c, ctx) =>
      c.deployConfig(ctx, file, { rollbackOnFailure: o.rollbackOnFailure === true, ...(o.scripts === undefined ? {} : { scriptsDir: o.scripts }) }),
  },
  {
    name: 'df', description: "disk use per instance: the agent's state directory, spool and archived logs, and the free space of their filesystems",
    options: [{ flags: '--table', description: 'a table for people instead of JSON' }],
    action: (o: { table?: boolean }) => (c, ctx) => c.df(ctx, { table: o.table === true }),
  },
  {
    name: 'diag', description: 'write one .tar.gz with a node\'s crash outputs, layout, configuration, versions, ulimits and log lines (ours)',
    operands: [['<NODE>', 'cluster node']],
    options: [{ flags: '-o, --output <FILE>', description: 'the archive to write (default: ./zeek-mgmt-diag-<node>-<time>.tar.gz)' }],
    action: (node: string, o: { output?: string }) => async (_c, ctx) => (await ops()).diag(ctx, node, o.output === undefined ? {} : { output: o.output }),
  },
  {
    name: 'diff-config', description: 'show what changed between two configurations (ours)',
    operands: [['<A>', 'configuration or deployment id, or "staged" or "deployed"'], ['<B>', 'the same']],
    action: (a: string, b: string) => async (_c, ctx) => (await ops()).diffConfig(ctx, a, b),
  },
  {
    name: 'get-config', description: 'retrieve the staged or deployed cluster configuration',
    options: [
      { flags: '-f, --filename <FILE>', description: 'output file for the configuration, default stdout', default: '-' },
      { flags: '--as-json', description: 'report in JSON instead of INI-style config file' },
      { flags: '--deployed', description: 'return the deployed configuration', conflicts: 'staged' },
      { flags: '--staged', description: 'return the staged configuration (default)' },
      { flags: '--id <ID>', description: 'a configuration of the deployment history, by its id or a deployment\'s (ours)', conflicts: 'deployed' },
    ],
    action: (o: { filename: string; asJson?: boolean; deployed?: boolean; id?: string }) => (c, ctx) =>
      c.getConfig(ctx, { asJson: o.asJson === true, deployed: o.deployed === true, filename: o.filename, ...(o.id === undefined ? {} : { id: o.id }) }),
  },
  {
    name: 'get-deployments', description: 'list past deployments, newest first: id, configuration, when, who, outcome per node (ours)',
    options: [
      { flags: '-n, --limit <N>', description: 'how many (1-100, default 20)' },
      { flags: '--table', description: 'a table for people instead of JSON' },
    ],
    action: (o: { limit?: string; table?: boolean }) => async (_c, ctx) => (await ops()).getDeployments(ctx, { table: o.table === true, ...(o.limit === undefined ? {} : { limit: o.limit }) }),
  },
  {
    name: 'get-id-value', description: 'show the value of a Zeek script identifier in cluster nodes',
    operands: [['<IDENTIFIER>', 'name of the Zeek script identifier to retrieve'], ['[NODES...]', 'cluster nodes to query (default: all)']],
    action: (id: string, nodes: string[]) => (c, ctx) => c.getIdValue(ctx, id, nodes),
  },
  { name: 'get-instances', description: 'show instances connected to the controller', action: () => (c, ctx) => c.getInstances(ctx) },
  {
    name: 'get-nodes', description: 'show active Zeek nodes at each instance',
    options: [{ flags: '--table', description: 'a table for people instead of JSON' }],
    action: (o: { table?: boolean }) => (c, ctx) => c.getNodes(ctx, { table: o.table === true }),
  },
  {
    name: 'monitor', description: 'print the notifications the controller forwards (node state changes, errors, output) until Ctrl-C',
    action: () => (c, ctx) => c.monitor(ctx),
  },
  {
    name: 'restart', description: 'restart cluster nodes', operands: [['[NODES...]', 'cluster nodes to restart (default: all)']],
    options: [{ flags: '--rolling', description: 'one at a time, each back to RUNNING before the next; default: every worker (ours)' }],
    action: (nodes: string[], o: { rolling?: boolean }) => async (c, ctx) => (o.rolling ? (await ops()).rollingRestart(ctx, nodes) : c.restart(ctx, nodes)),
  },
  {
    name: 'rollback', description: 'deploy a configuration of the history again (default: the last good one before the deployed one) (ours)',
    operands: [['[ID]', 'configuration or deployment id (see get-deployments)']],
    action: (id: string | undefined) => async (_c, ctx) => (await ops()).rollback(ctx, id),
  },
  {
    name: 'stage-config', description: 'upload a cluster configuration for later deployment', operands: [FILE_OPERAND],
    options: [SCRIPTS_OPTION],
    action: (file: string, o: { scripts?: string }) => (c, ctx) => c.stageConfig(ctx, file, o.scripts),
  },
  { name: 'show-settings', description: "show the client's own settings", action: () => (c, ctx) => c.showSettings(ctx) },
  {
    name: 'start', description: 'start stopped (or failed) cluster nodes (ours)', operands: [['[NODES...]', 'cluster nodes to start (default: all)']],
    action: (nodes: string[]) => async (_c, ctx) => (await ops()).start(ctx, nodes),
  },
  {
    name: 'stop', description: 'stop cluster nodes; they stay stopped until started, restarted by name or redeployed (ours)',
    operands: [['[NODES...]', 'cluster nodes to stop (default: all)']],
    action: (nodes: string[]) => async (_c, ctx) => (await ops()).stop(ctx, nodes),
  },
  {
    name: 'test-timeout', description: 'send a request the controller lets time out',
    options: [{ flags: '--with-state', description: 'make the request stateful in the controller' }],
    action: (o: { withState?: boolean }) => (c, ctx) => c.testTimeout(ctx, o.withState === true),
  },
];

/** Calls a command's action with the arguments commander would pass. */
export function actionRun(spec: CommandSpec, args: unknown[]): Run {
  return (spec.action as (...a: unknown[]) => Run)(...args);
}

/** Builds the context from the global options and runs the command; returns the exit status. */
export async function runClientCommand(opts: GlobalOptions, run: Run): Promise<number> {
  const [{ buildContext }, commands] = await Promise.all([import('./context.js'), import('./commands.js')]);
  if (opts.quiet && opts.verbose) {
    process.stderr.write('error: -q/--quiet and -v/--verbose cannot be used together\n');
    return 2;
  }
  const ctx = await buildContext(opts);
  if (!ctx.ok) {
    if (!opts.quiet) process.stderr.write(`error: ${ctx.error}\n`);
    return 1;
  }
  return run(commands, ctx.value);
}

// ---- the plain form, without commander ----------------------------------

interface Flags { short?: string; long: string; takesValue: boolean }

function flagsOf(spec: OptionSpec): Flags {
  const words = spec.flags.split(/[ ,]+/);
  return {
    short: words.find((w) => /^-[^-]$/.test(w)),
    long: words.find((w) => w.startsWith('--')) ?? '',
    takesValue: words.some((w) => w.startsWith('<')),
  };
}

/** The key commander stores an option's value under: its long name in camelCase. */
export function optionKey(spec: OptionSpec): string {
  return flagsOf(spec).long.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The command to run when argv is in the plain form — only global options
 * (`--opt VALUE`, `--opt=VALUE`, `-c VALUE`, short flags like `-vvv`), a
 * client command, and as many operands as it takes, none starting with `-`
 * — giving it what commander would. Anything else is undefined, for
 * commander to handle: help, subcommand options, `--`, usage errors.
 */
export function plainClientCommand(argv: readonly string[]): (() => Promise<number>) | undefined {
  const globals = GLOBAL_OPTIONS.map((spec) => ({ spec, ...flagsOf(spec) }));
  const opts: Record<string, unknown> = {};
  const set = (spec: OptionSpec, value: string | undefined): void => {
    const key = optionKey(spec);
    const parse = spec.parse as ((v: string | undefined, prev: unknown) => unknown) | undefined;
    opts[key] = parse ? parse(value, opts[key]) : value ?? true;
  };
  let i = 0;
  for (; i < argv.length && isOption(argv[i] as string); i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const option = globals.find((o) => o.long === name || o.short === name);
    if (option && !option.takesValue) {
      if (eq >= 0) return undefined;
      set(option.spec, undefined);
    } else if (option) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) return undefined;
      set(option.spec, value);
    } else {
      // Combined short flags (-vvv, -qv); a short option that takes a value (-cFILE) is left to commander.
      if (arg.startsWith('--')) return undefined;
      const flags = [...arg.slice(1)].flatMap((ch) => globals.filter((o) => o.short === `-${ch}` && !o.takesValue));
      if (flags.length !== arg.length - 1) return undefined;
      for (const o of flags) set(o.spec, undefined);
    }
  }
  const command = COMMANDS.find((c) => c.name === argv[i]);
  if (!command) return undefined;
  const operands = argv.slice(i + 1);
  if (operands.some(isOption)) return undefined;
  const declared = command.operands ?? [];
  const variadic = declared.some(([syntax]) => syntax.endsWith('...]') || syntax.endsWith('...>'));
  const required = declared.filter(([syntax]) => syntax.startsWith('<')).length;
  if (operands.length < required || (!variadic && operands.length > declared.length)) return undefined;
  const args: unknown[] = declared.map(([syntax], j) => (syntax.includes('...') ? operands.slice(j) : operands[j]));
  const commandOpts: Record<string, unknown> = {};
  for (const o of command.options ?? []) if (o.default !== undefined) commandOpts[optionKey(o)] = o.default;
  const run = actionRun(command, [...args, commandOpts]);
  return () => runClientCommand(opts, run);
}

/** As commander tells an option from an operand: `-` alone is an operand. */
function isOption(arg: string): boolean {
  return arg.length > 1 && arg.startsWith('-');
}
