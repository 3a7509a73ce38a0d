/**
 * `zeek-mgmt up`: the controller and the local agent in one foreground
 * process, like Zeek's `zeek -j …controller …agent`. Flags only here.
 */
import type { Command } from 'commander';
import { addNodeRuntimeOptions } from '../agent/cli.js';
import { addLimitOptions } from '../management/limits.js';
import { addTlsOptions } from '../management/tls-flags.js';

export function registerLaunchCommands(program: Command): void {
  const command = addLimitOptions(addNodeRuntimeOptions(program.command('up')))
    .description('run the controller and a local agent in this process (Ctrl-C stops both and every node); optionally deploy a cluster configuration; prints the live dashboard\'s address (http://127.0.0.1:2149/ by default)')
    .option('--config <FILE>', 'stage and deploy this cluster configuration once the agent is connected')
    .option('--controller-name <name>', 'controller name [env ZEEK_CONTROLLER_NAME, default controller-<hostname>]')
    .option('--agent-name <name>', 'agent name [env ZEEK_AGENT_NAME, default agent-<hostname>]')
    .option('--client-address <addr>', 'controller address for clients [env ZEEK_CONTROLLER_WEBSOCKET_ADDR, default 127.0.0.1]')
    .option('--client-port <port>', 'controller port for clients; 0 picks a free one [env ZEEK_CONTROLLER_WEBSOCKET_PORT, default 2149]')
    .option('--agent-port <port>', 'controller port for agents; 0 picks a free one [env ZEEK_CONTROLLER_PORT, default 2150]')
    .option('--agent-listen-port <port>', "the local agent's own port; 0 picks a free one [env ZEEK_AGENT_PORT, default 2151]")
    .option('--no-agent-listen', 'the local agent does not listen (it connects to the controller only)')
    .option('--state-dir <dir>', 'base state directory; controller and agent use <dir>/<name> [env ZEEK_MANAGEMENT_STATE_DIR, default ./.zeek-mgmt]')
    .option('--port-start <port>', 'first auto-assigned Broker port (default 2200)')
    .option('--metrics-port-start <port>', 'first auto-assigned metrics port (default 9000)')
    .option('--request-timeout <s>', 'controller request timeout in seconds (default 10)')
    .option('--log-level <level>', 'log level of controller and agent on stderr: trace, debug, info (every request), warn, error; management.log always has info and above', 'warn')
    .option('--log-format <format>', 'stderr lines: text (readable), json, or auto: text on a terminal, else json (default auto); management.log is JSON')
    .option('--auth-file <file>', 'client credentials for the controller (see `zeek-mgmt controller --help`) [env ZEEK_MGMT_AUTH_FILE]')
    .option('--require-auth', 'clients on loopback must authenticate too')
    .option('--allow-origin <origin...>', 'browser origins that may open sessions with the controller')
    .option('--allow-loader-env', 'let configurations set loader variables (LD_*, NODE_OPTIONS, ZEEKPATH, ...) for nodes')
    .option('--insecure', 'allow listening off loopback without TLS (warned at every start)');
  addTlsOptions(command)
    .addHelpText('after', '\nThe agent proves to the controller the key derived from <state dir>/<controller>/agent-secret (made at first start, 0600).\nSIGINT, SIGTERM and SIGHUP (the terminal closed) stop the controller, the agent and every node; run `zeek-mgmt controller` and `zeek-mgmt agent` to re-read TLS files on SIGHUP instead.')
    .action(async (flags: Record<string, unknown>) => {
      const { runUp } = await import('./up.js');
      process.exitCode = await runUp(flags);
    });
}
