/**
 * Registers zeek-client's global options and commands. Only commander is
 * loaded here; each action imports the client implementation on demand.
 */
import { Command, Option } from 'commander';
import type { GlobalOptions } from './context.js';

type Run = (ctx: import('./context.js').ClientContext) => Promise<number> | number;

async function run(program: Command, body: (commands: typeof import('./commands.js')) => Run): Promise<void> {
  const [{ buildContext }, commands] = await Promise.all([import('./context.js'), import('./commands.js')]);
  const opts = program.opts<GlobalOptions>();
  if (opts.quiet && opts.verbose) {
    process.stderr.write('error: -q/--quiet and -v/--verbose cannot be used together\n');
    process.exitCode = 2;
    return;
  }
  const ctx = buildContext(opts);
  if (!ctx.ok) {
    if (!opts.quiet) process.stderr.write(`error: ${ctx.error}\n`);
    process.exitCode = 1;
    return;
  }
  process.exitCode = await body(commands)(ctx.value);
}

export function registerClientCommands(program: Command): void {
  // zeek-client's global options come before the command, and subcommands
  // (agent, controller) keep their own --controller.
  program.enablePositionalOptions();
  program
    .option('-c, --configfile <FILE>', 'zeek-client config file (default: $ZEEK_CLIENT_CONFIG_FILE)')
    .option('--controller <HOST:PORT>', 'address and port of the controller, either may be omitted (default: 127.0.0.1:2149)')
    .option('--set <SECTION.KEY=VAL>', 'adjust a client setting; repeatable; see show-settings', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('-q, --quiet', 'suppress informational output to stderr')
    .addOption(new Option('-v, --verbose', 'increase informational output to stderr; repeat for more (-vvv)').argParser((_v: string, prev: number | undefined) => (prev ?? 0) + 1))
    .addHelpText('after', '\nEnvironment:\n  ZEEK_CLIENT_CONFIG_FILE      same as --configfile, lower precedence\n  ZEEK_CLIENT_CONFIG_SETTINGS  same as space-separated --set arguments, lower precedence\n');

  const cmd = (name: string, description: string): Command => program.command(name).description(description);

  cmd('deploy', 'deploy the staged cluster configuration')
    .action(() => run(program, (c) => (ctx) => c.deploy(ctx)));
  cmd('deploy-config', 'upload a cluster configuration and deploy it')
    .argument('<FILE>', 'cluster configuration file, "-" for stdin')
    .action((file: string) => run(program, (c) => (ctx) => c.deployConfig(ctx, file)));
  cmd('get-config', 'retrieve the staged or deployed cluster configuration')
    .option('-f, --filename <FILE>', 'output file for the configuration, default stdout', '-')
    .option('--as-json', 'report in JSON instead of INI-style config file')
    .addOption(new Option('--deployed', 'return the deployed configuration').conflicts('staged'))
    .option('--staged', 'return the staged configuration (default)')
    .action((o: { filename: string; asJson?: boolean; deployed?: boolean }) =>
      run(program, (c) => (ctx) => c.getConfig(ctx, { asJson: o.asJson === true, deployed: o.deployed === true, filename: o.filename })));
  cmd('get-id-value', 'show the value of a Zeek script identifier in cluster nodes')
    .argument('<IDENTIFIER>', 'name of the Zeek script identifier to retrieve')
    .argument('[NODES...]', 'cluster nodes to query (default: all)')
    .action((id: string, nodes: string[]) => run(program, (c) => (ctx) => c.getIdValue(ctx, id, nodes)));
  cmd('get-instances', 'show instances connected to the controller')
    .action(() => run(program, (c) => (ctx) => c.getInstances(ctx)));
  cmd('get-nodes', 'show active Zeek nodes at each instance')
    .option('--table', 'a table for people instead of JSON')
    .action((o: { table?: boolean }) => run(program, (c) => (ctx) => c.getNodes(ctx, { table: o.table === true })));
  cmd('monitor', 'print the notifications the controller forwards (node state changes, errors, output) until Ctrl-C')
    .action(() => run(program, (c) => (ctx) => c.monitor(ctx)));
  cmd('restart', 'restart cluster nodes')
    .argument('[NODES...]', 'cluster nodes to restart (default: all)')
    .action((nodes: string[]) => run(program, (c) => (ctx) => c.restart(ctx, nodes)));
  cmd('stage-config', 'upload a cluster configuration for later deployment')
    .argument('<FILE>', 'cluster configuration file, "-" for stdin')
    .action((file: string) => run(program, (c) => (ctx) => c.stageConfig(ctx, file)));
  cmd('show-settings', "show the client's own settings")
    .action(() => run(program, (c) => (ctx) => c.showSettings(ctx)));
  cmd('test-timeout', 'send a request the controller lets time out')
    .option('--with-state', 'make the request stateful in the controller')
    .action((o: { withState?: boolean }) => run(program, (c) => (ctx) => c.testTimeout(ctx, o.withState === true)));
}
