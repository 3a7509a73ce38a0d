/**
 * Registers zeek-client's global options and commands (client/command-line.ts)
 * with commander. Each action imports the client implementation on demand.
 */
import type { Command } from 'commander';
import type { GlobalOptions } from './context.js';
import { COMMANDS, GLOBAL_OPTIONS, actionRun, runClientCommand, type OptionSpec } from './command-line.js';

function addOption(command: Command, spec: OptionSpec): void {
  const option = command.createOption(spec.flags, spec.description);
  if (spec.parse) option.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.conflicts) option.conflicts(spec.conflicts);
  command.addOption(option);
}

export function registerClientCommands(program: Command): void {
  // zeek-client's global options come before the command, and subcommands
  // (agent, controller) keep their own --controller.
  program.enablePositionalOptions();
  for (const spec of GLOBAL_OPTIONS) addOption(program, spec);
  program.addHelpText('after', '\nEnvironment:\n  ZEEK_CLIENT_CONFIG_FILE      same as --configfile, lower precedence\n  ZEEK_CLIENT_CONFIG_SETTINGS  same as space-separated --set arguments, lower precedence\n');

  for (const spec of COMMANDS) {
    const cmd = program.command(spec.name).description(spec.description);
    for (const [syntax, description] of spec.operands ?? []) cmd.argument(syntax, description);
    for (const option of spec.options ?? []) addOption(cmd, option);
    cmd.action(async (...args: unknown[]) => {
      // commander passes each operand, the options, then the command itself.
      process.exitCode = await runClientCommand(program.opts<GlobalOptions>(), actionRun(spec, args.slice(0, -1)));
    });
  }
}
