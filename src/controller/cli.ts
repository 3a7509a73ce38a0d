/** `zeek-mgmt controller`: flags only here; the runtime loads when the command runs. */
import { Command, Option } from 'commander';

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the controller: takes client requests, validates, persists and deploys configurations to agents')
    .option('--name <name>', 'controller name [env ZEEK_CONTROLLER_NAME, default controller-<hostname>]')
    .option('--client-address <addr>', 'address for clients (WebSocket, and the dashboard at http://ADDR:PORT/) [env ZEEK_CONTROLLER_WEBSOCKET_ADDR, default 127.0.0.1]')
    .option('--client-port <port>', 'port for clients; 0 picks a free one [env ZEEK_CONTROLLER_WEBSOCKET_PORT, default 2149]')
    .option('--agent-address <addr>', 'address for agents [env ZEEK_CONTROLLER_ADDR, default 127.0.0.1]')
    .option('--agent-port <port>', 'port for agents; 0 picks a free one [env ZEEK_CONTROLLER_PORT, default 2150]')
    .option('--state-dir <dir>', 'state directory (database, management.log) [env ZEEK_MANAGEMENT_STATE_DIR, default ./.zeek-mgmt/<name>]')
    .option('--request-timeout <s>', 'seconds before a request times out (default 10)')
    .addOption(new Option('--no-auto-assign-ports', 'do not assign Broker ports; every manager, logger and proxy needs one'))
    .addOption(new Option('--no-auto-assign-metrics-ports', 'do not assign metrics ports'))
    .option('--port-start <port>', 'first auto-assigned Broker port (default 2200)')
    .option('--metrics-port-start <port>', 'first auto-assigned metrics port per host (default 9000)')
    .option('--log-level <level>', 'trace, debug, info, warn, error (default info)')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const { runControllerCommand } = await import('./run.js');
      process.exitCode = await runControllerCommand(flags);
    });
}
