/** `zeek-mgmt controller`: flags only here; the runtime loads when the command runs. */
import { Command, Option } from 'commander';
import { addLimitOptions } from '../management/limits.js';
import { addTlsOptions } from '../management/tls-flags.js';

/** `zeek-mgmt agent-key NAME`: the key an agent needs, derived from this controller's secret. */
export function registerAgentKeyCommand(program: Command): void {
  program
    .command('agent-key')
    .description('write the key agent NAME proves to this controller (derived from <state dir>/agent-secret, made if absent)')
    .argument('<name>', 'the agent (instance) name')
    .option('--name <name>', 'controller name, for its default state directory [env ZEEK_CONTROLLER_NAME, default controller-<hostname>]')
    .option('--state-dir <dir>', "the controller's state directory [env ZEEK_MANAGEMENT_STATE_DIR, default ./.zeek-mgmt/<name>]")
    .requiredOption('-o, --output <file>', 'where to write the key (0600); copy it to the agent\'s host and pass it as --key-file')
    .action(async (agent: string, flags: { name?: string; stateDir?: string; output: string }) => {
      const { writeAgentKey } = await import('./run.js');
      process.exitCode = writeAgentKey(agent, flags);
    });
}

export function registerControllerCommand(program: Command): void {
  const command = addLimitOptions(program.command('controller'))
    .description('run the controller: takes client requests, validates, persists and deploys configurations to agents')
    .option('--name <name>', 'controller name [env ZEEK_CONTROLLER_NAME, default controller-<hostname>]')
    .option('--client-address <addr>', 'address for clients (WebSocket, and the dashboard at http://ADDR:PORT/) [env ZEEK_CONTROLLER_WEBSOCKET_ADDR, default 127.0.0.1]')
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
    .option('--auth-file <file>', 'client credentials, one per line: "operator token:<secret>", "viewer cert:<common name>" (0600) [env ZEEK_MGMT_AUTH_FILE]')
    .option('--require-auth', 'clients on loopback must authenticate too (by default they are operators, as with the original)')
    .option('--allow-origin <origin...>', 'browser origins (e.g. https://ui.example:8443) that may open sessions; others are refused')
    .option('--insecure', 'allow listening off loopback without TLS, and anonymous clients there (warned at every start)');
  addTlsOptions(command)
    .addHelpText('after', '\nSIGHUP re-reads the TLS files and the auth file; sessions stay up. The agents\' shared secret is <state dir>/agent-secret (made at first start);\n`zeek-mgmt agent-key NAME` writes the key an agent needs.')
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const { runControllerCommand } = await import('./run.js');
      process.exitCode = await runControllerCommand(flags);
    });
}
