import type { Command } from 'commander';

export function registerAgentCommand(program: Command): void {
  program.command('agent').description('run the agent (not yet available)').action(() => {
    process.stderr.write('zeek-mgmt agent: not available in this build\n');
    process.exitCode = 1;
  });
}
