#!/usr/bin/env node
/**
 * The one executable. A client command in its plain form (global options,
 * the command, its operands: what scripts run) starts at once, loading
 * little beyond ws and the codec; everything else — the daemons, help,
 * --version, subcommand options, usage errors — goes to the full
 * commander program.
 */
import { plainClientCommand } from './client/command-line.js';

const plain = plainClientCommand(process.argv.slice(2));
if (plain) {
  process.exitCode = await plain();
} else {
  const { runProgram } = await import('./program.js');
  await runProgram(process.argv);
}
