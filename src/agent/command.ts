/**
 * Runs the agent for the CLI: resolves settings (one error line and exit 2
 * on bad ones), starts it, re-reads its TLS material on SIGHUP, and on
 * SIGINT/SIGTERM closes it leaving the nodes running, like Zeek's agent:
 * restarting the agent does not stop the cluster.
 */
import { runInForeground } from '../management/foreground.js';
import { resolveAgentConfig, type AgentFlags } from './config.js';
import { startAgent } from './main.js';

export async function runAgentCommand(flags: AgentFlags): Promise<number> {
  const outcome = resolveAgentConfig(flags, process.env, process.cwd());
  if (!outcome.ok) {
    process.stderr.write(`zeek-mgmt agent: ${outcome.error}\n`);
    return 2;
  }
  const resolved = outcome.value;
  const foreground = runInForeground({ reloads: true });
  let agent;
  try {
    agent = await startAgent({ ...resolved.options, notes: resolved.notes });
  } catch (err) {
    process.stderr.write(`zeek-mgmt agent: ${(err as Error).message}\n`);
    foreground.dispose();
    return 1;
  }
  if (resolved.options.listen !== false) process.stderr.write(`zeek-mgmt agent: ${agent.name} listening on ${resolved.options.listenHost}:${agent.listenPort}\n`);
  const running = agent;
  foreground.onHangup(() => { void running.reload(); });
  await foreground.stopped;
  foreground.dispose();
  await agent.close({ stopNodes: false });
  return 0;
}
