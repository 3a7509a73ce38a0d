import type { Command } from 'commander';

export function registerControllerCommand(program: Command): void {
  program.command('controller').description('run the controller (not yet available)').action(() => {
    process.stderr.write('zeek-mgmt controller: not available in this build\n');
    process.exitCode = 1;
  });
}
