/**
 * `zeek-mgmt agent`: flags only here; the agent itself is loaded when the
 * command runs.
 */
import type { Command } from 'commander';
import { addLimitOptions } from '../management/limits.js';
import { addTlsOptions } from '../management/tls-flags.js';

/** How nodes are run: shared by `agent` and `up`, which runs an agent too. */
export function addNodeRuntimeOptions(command: Command): Command {
  return command
    .option('--runtime <kind>', 'node runtime: zeek, sim, or auto (zeek when a zeek binary is found, else sim)', 'auto')
    .option('--zeek-path <path>', 'zeek binary for the zeek runtime', 'zeek')
    .option('--node-timeout <s>', 'seconds a node has to check in (default 5)')
    .option('--stop-grace <s>', 'seconds between SIGTERM and SIGKILL when stopping a node (default 5)')
    .option('--restart-backoff <s>', 'first delay before restarting a node that exited unexpectedly; doubles every 3 tries (default 1)')
    .option('--max-restart-backoff <s>', 'cap of the crash restart back-off in seconds (default 60)')
    .option('--start-limit <n>', 'failed runs in a row after which a node stays FAILED instead of being restarted; 0 = never give up (default 5)')
    .option('--keep-crashes <n>', 'crash directories kept per node under <state dir>/crashes (default 5)')
    .option('--node-user <user>', 'run nodes as this user (the agent runs as root); node directories and the log queue become theirs');
}

export function registerAgentCommand(program: Command): void {
  const command = addLimitOptions(addNodeRuntimeOptions(program.command('agent')))
    .description('run an agent: launches, supervises and reports the cluster nodes of this instance')
    .option('--name <name>', 'agent (instance) name [env ZEEK_AGENT_NAME, default agent-<hostname>]')
    .option('--listen-address <addr>', 'address to listen on for controllers [env ZEEK_AGENT_ADDR, default 127.0.0.1]')
    .option('--listen-port <port>', 'port to listen on; 0 picks a free one [env ZEEK_AGENT_PORT, default 2151]')
    .option('--no-listen', 'do not listen; only connect to the controller')
    .option('--controller <host:port>', 'controller to connect to [env ZEEK_CONTROLLER_ADDR/ZEEK_CONTROLLER_PORT, default 127.0.0.1:2150]')
    .option('--no-connect', 'do not connect; wait for the controller to connect')
    .option('--state-dir <dir>', 'base state directory: the agent keeps its nodes, spool and management.log in <dir>/<name>, as up and controller do [env ZEEK_MANAGEMENT_STATE_DIR, default ./.zeek-mgmt]')
    .option('--spool-dir <dir>', 'spool directory [env ZEEK_MANAGEMENT_SPOOL_DIR, default <state dir>/<name>/spool]')
    .option('--no-archive', 'do not archive rotated logs (archival is on by default, built in, in zeek-archiver\'s layout)')
    .option('--archive-cmd <cmd>', 'archive with this command instead of the built-in archiver (run as <cmd> -1 <log-queue> <archive dir>)')
    .option('--archive-interval <s>', 'seconds between archival runs; rotated logs are also archived as they arrive (default 300)')
    .option('--archive-dir <dir>', 'archive directory (default <spool dir>/logs)')
    .option('--log-queue-dir <dir>', 'directory of rotated logs to archive (default <spool dir>/log-queue)')
    .option('--log-level <level>', 'stderr: trace, debug, info, warn, error (default info); management.log always has info and above')
    .option('--log-format <format>', 'stderr lines: text (readable), json, or auto: text on a terminal, else json (default auto); management.log is JSON')
    .option('--key-file <file>', 'this agent\'s key (0600), written by `zeek-mgmt agent-key NAME` on the controller\'s host [env ZEEK_MGMT_AGENT_KEY_FILE]')
    .option('--allow-loader-env', 'let configurations set loader variables (LD_*, NODE_OPTIONS, ZEEKPATH, ...) for nodes')
    .option('--insecure', 'allow listening or connecting off loopback without TLS (warned at every start)');
  addTlsOptions(command)
    .addHelpText('after', '\nSIGINT/SIGTERM stop the agent but leave its nodes running; the next agent run on the same state directory adopts them.\nSIGHUP re-reads the TLS files.')
    .action(async (flags: Record<string, unknown>) => {
      const { runAgentCommand } = await import('./command.js');
      process.exitCode = await runAgentCommand(flags);
    });
}
