/**
 * `zeek-mgmt up`: the controller and the local agent in one foreground
 * process, like Zeek's `zeek -j …controller …agent`. Flags only here.
 */
import type { Command } from 'commander';
import { addNodeRuntimeOptions } from '../agent/cli.js';

export function registerLaunchCommands(program: Command): void {
  addNodeRuntimeOptions(program.command('up'))
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
    .option('--log-level <level>', 'log level of controller and agent on stderr: trace, debug, info (every request), warn, error', 'warn')
    .action(async (flags: Record<string, unknown>) => {
      const { runUp } = await import('./up.js');
      process.exitCode = await runUp(flags);
    });
}
