/**
 * The full command line, with commander: every area registers its
 * subcommands; their actions load the implementation lazily, so a client
 * command does not load the controller or agent. Help, --version and usage
 * errors are commander's.
 */
import { Command, CommanderError } from 'commander';
import { registerAgentKeyCommand, registerControllerCommand } from './controller/cli.js';
import { registerAgentCommand } from './agent/cli.js';
import { registerLaunchCommands } from './launch/cli.js';
import { registerClientCommands } from './client/cli.js';

import { packageVersion } from './management/version.js';

/** Parses process.argv-style arguments and runs the command; the exit status is left in process.exitCode. */
export async function runProgram(argv: string[]): Promise<void> {
  if (argv.length <= 2) {
    process.stderr.write('zeek-mgmt: no command given; run "zeek-mgmt --help" for the commands (up, controller, agent, and the zeek-client commands)\n');
    process.exitCode = 2;
    return;
  }
  const program = new Command('zeek-mgmt')
    .description('Deploy, watch and operate a Zeek cluster: controller, agents, and a zeek-client compatible client.')
    .version(packageVersion(), '--version', 'print the version and exit')
    .showHelpAfterError('(run "zeek-mgmt --help" or "zeek-mgmt <command> --help" for usage)')
    // Usage errors exit 2, as zeek-client's (argparse) do; help and version exit 0.
    .exitOverride();

  registerControllerCommand(program);
  registerAgentCommand(program);
  registerAgentKeyCommand(program);
  registerLaunchCommands(program);
  registerClientCommands(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  }
}
