/** `zeek-mgmt controller`: flags only here; the runtime loads when the command runs. */
import { Command, Option } from 'commander';

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the controller: takes client requests, validates, persists and deploys configurations to agents')
    .option('--name <name>', 'controller name [env ZEEK_CONTROLLER_NAME, default controller-<hostname>]')
    .option('--client-address <addr>', 'address for clients (WebSocket) [env ZEEK_CONTROLLER_WEBSOCKET_ADDR, default 127.0.0.1]')
    .option('--client-port <port>', 'port for clients; 0 picks a free one [env ZEEK_CONTROLLER_WEBSOCKET_PORT, default 2149]')
    .option('--agent-address <addr>', 'address for agents [env ZEEK_CONTROLLER_ADDR, default 127.0.0.1]')
    .option('--agent-port <port>', 'port for agents; 0 picks a free one [env ZEEK_CONTROLLER_PORT, default 2150]')
    .option('--state-dir <dir>', 'base state directory: the controller keeps its database and management.log in <dir>/<name>, as up and agent do [env ZEEK_MANAGEMENT_STATE_DIR, default ./.zeek-mgmt]')
    .option('--request-timeout <s>', 'seconds before a request times out (default 10)')
    .addOption(new Option('--no-auto-assign-ports', 'do not assign Broker ports; every manager, logger and proxy needs one'))
    .addOption(new Option('--no-auto-assign-metrics-ports', 'do not assign metrics ports'))
    .option('--port-start <port>', 'first auto-assigned Broker port (default 2200)')
    .option('--metrics-port-start <port>', 'first auto-assigned metrics port per host (default 9000)')
    .option('--log-level <level>', 'stderr: trace, debug, info, warn, error (default info); management.log always has info and above')
    .option('--log-format <format>', 'stderr lines: text (readable), json, or auto: text on a terminal, else json (default auto); management.log is JSON')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const { runControllerCommand } = await import('./run.js');
      process.exitCode = await runControllerCommand(flags);
    });
}
