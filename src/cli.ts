#!/usr/bin/env node
/**
 * The one executable. Each area registers its subcommands; their actions
 * load the implementation lazily, so a client command does not load the
 * controller or agent.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerControllerCommand } from './controller/cli.js';
import { registerAgentCommand } from './agent/cli.js';
import { registerLaunchCommands } from './launch/cli.js';
import { registerClientCommands } from './client/cli.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command('zeek-mgmt')
  .description('Deploy, watch and operate a Zeek cluster: controller, agents, and a zeek-client compatible client.')
  .version(packageVersion(), '--version', 'print the version and exit')
  .showHelpAfterError();

registerControllerCommand(program);
registerAgentCommand(program);
registerLaunchCommands(program);
registerClientCommands(program);

await program.parseAsync(process.argv);
