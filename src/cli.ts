#!/usr/bin/env node
/**
 * The command line over the ES modules, as tsc builds them. A client
 * command in its plain form (global options, the command, its operands:
 * what scripts run) starts at once, loading little beyond ws and the
 * codec; everything else — the daemons, help, --version, subcommand
 * options, usage errors — goes to the full commander program. The
 * installed executable, src/bin.cts, is the same dispatch with the client
 * path from one bundled file; this entry is what it is tested against.
 */
import { plainClientCommand } from './client/command-line.js';

const plain = plainClientCommand(process.argv.slice(2));
if (plain) {
  process.exitCode = await plain();
} else {
  const { runProgram } = await import('./program.js');
  await runProgram(process.argv);
}
