/**
 * Runs the controller and the local agent (told that the controller runs
 * beside it) in this process until SIGINT/SIGTERM, then stops the agent with
 * its nodes and the controller, so nothing is left behind. With --config,
 * stages and deploys that configuration once the agent has connected.
 */
import { join, resolve } from 'node:path';
import { resolveAgentConfig, type AgentFlags } from '../agent/config.js';
import { startAgent, type Agent } from '../agent/main.js';
import { resolveControllerOptions } from '../controller/config.js';
import { startController, type Controller } from '../controller/main.js';
import { dashboardUrl } from '../controller/dashboard.js';
import { waitForInstance } from './wait.js';

export interface UpFlags {
  runtime?: string;
  zeekPath?: string;
  config?: string;
  controllerName?: string;
  agentName?: string;
  clientAddress?: string;
  clientPort?: string;
  agentPort?: string;
  agentListenPort?: string;
  agentListen?: boolean;
  stateDir?: string;
  requestTimeout?: string;
  portStart?: string;
  metricsPortStart?: string;
  nodeTimeout?: string;
  stopGrace?: string;
  restartBackoff?: string;
  startLimit?: string;
  keepCrashes?: string;
  logLevel?: string;
}

const say = (line: string): void => { process.stderr.write(`zeek-mgmt up: ${line}\n`); };

export async function runUp(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = raw as UpFlags;
  const base = resolve(flags.stateDir ?? (env.ZEEK_MANAGEMENT_STATE_DIR || '.zeek-mgmt'));
  const probe = resolveControllerOptions({ ...(flags.controllerName ? { name: flags.controllerName } : {}) }, env);
  const resolvedController = probe.ok ? resolveControllerOptions({
    name: probe.value.name,
    ...(flags.clientAddress ? { clientAddress: flags.clientAddress } : {}),
    ...(flags.clientPort ? { clientPort: flags.clientPort } : {}),
    ...(flags.agentPort ? { agentPort: flags.agentPort } : {}),
    ...(flags.requestTimeout ? { requestTimeout: flags.requestTimeout } : {}),
    ...(flags.portStart ? { portStart: flags.portStart } : {}),
    ...(flags.metricsPortStart ? { metricsPortStart: flags.metricsPortStart } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
    stateDir: join(base, probe.value.name),
  }, env) : probe;
  if (!resolvedController.ok) { say(resolvedController.error); return 2; }
  const controllerOptions = resolvedController.value;
  // Check the agent's flags before anything starts, with a placeholder controller port.
  const agentFlags = (controllerPort: number): AgentFlags => ({
    ...(flags.agentName ? { name: flags.agentName } : {}),
    ...(flags.agentListenPort ? { listenPort: flags.agentListenPort } : {}),
    listen: flags.agentListen !== false,
    controller: `${connectHost(controllerOptions.agentHost)}:${controllerPort}`,
    runtime: flags.runtime ?? 'auto',
    ...(flags.zeekPath ? { zeekPath: flags.zeekPath } : {}),
    ...(flags.nodeTimeout ? { nodeTimeout: flags.nodeTimeout } : {}),
    ...(flags.stopGrace ? { stopGrace: flags.stopGrace } : {}),
    ...(flags.restartBackoff ? { restartBackoff: flags.restartBackoff } : {}),
    ...(flags.startLimit ? { startLimit: flags.startLimit } : {}),
    ...(flags.keepCrashes ? { keepCrashes: flags.keepCrashes } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
  });
  const checked = resolveAgentConfig(agentFlags(controllerOptions.agentPort || 1), env, process.cwd());
  if (!checked.ok) { say(checked.error); return 2; }
  const agentName = checked.value.options.name;

  let controller: Controller | undefined;
  let agent: Agent | undefined;
  const stopped = waitForSignal();
  try {
    controller = await startController(controllerOptions);
    const outcome = resolveAgentConfig({ ...agentFlags(controller.agentPort), stateDir: join(base, agentName) }, env, process.cwd());
    if (!outcome.ok) { say(outcome.error); return 2; }
    const resolved = outcome.value;
    for (const note of resolved.notes) say(note);
    agent = await startAgent({
      ...resolved.options,
      notes: resolved.notes,
      colocatedController: { name: controller.name, pid: process.pid, port: controller.clientPort },
    });
    const clientHost = connectHost(controllerOptions.clientHost);
    const clientAt = `${clientHost.includes(':') ? `[${clientHost}]` : clientHost}:${controller.clientPort}`;
    say(`controller ${controller.name}: clients ${controllerOptions.clientHost}:${controller.clientPort}, agents ${controllerOptions.agentHost}:${controller.agentPort}, state ${controller.stateDir}`);
    const dashboard = dashboardUrl(clientHost, controller.clientPort);
    say(`dashboard: ${dashboard}`);
    const o = resolved.options;
    const runtime = o.runtime === 'zeek' ? `zeek runtime: ${o.zeekPath}, Zeek ${o.zeekVersion?.text ?? '?'}` : 'sim runtime: simulated nodes';
    say(`agent ${agent.name} (${runtime})${agent.listenPort !== undefined ? ` listening on ${resolved.options.listenHost}:${agent.listenPort}` : ''}, state ${agent.stateDir}`);
    const ready = await waitForInstance({ host: connectHost(controllerOptions.clientHost), port: controller.clientPort }, agent.name, 20_000, stopped.promise);
    if (!ready.ok) { say(ready.error); return 1; }
    if (ready.value === 'stopped') return 0;
    say(`agent ${agent.name} connected to the controller`);
    const controllerFlag = controller.clientPort === 2149 && clientAt.startsWith('127.0.0.1:') ? '' : ` --controller ${clientAt}`;
    if (flags.config) {
      const code = await deploy(flags.config, clientAt);
      if (code !== 0) say(`deploying ${flags.config} failed (see above); the controller and agent keep running`);
    }
    process.stderr.write([
      '',
      `Ready. In another terminal${flags.config ? '' : ', deploy a cluster'}:`,
      ...(flags.config ? [] : [`  npx zeek-mgmt${controllerFlag} deploy-config examples/mini.ini`]),
      `  npx zeek-mgmt${controllerFlag} get-nodes --table`,
      `  npx zeek-mgmt${controllerFlag} get-id-value Cluster::node`,
      `  npx zeek-mgmt${controllerFlag} monitor`,
      `Or open the live dashboard in a browser: ${dashboard}`,
      'Ctrl-C here stops the controller, the agent and every node.',
      '',
    ].join('\n'));
    await stopped.promise;
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    say(e.code === 'EADDRINUSE' ? `cannot listen: address in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')}); is another controller or agent running? Pick other ports with --client-port/--agent-port/--agent-listen-port` : e.message);
    return 1;
  } finally {
    stopped.dispose();
    if (agent) await agent.close({ stopNodes: true });
    if (controller) await controller.close();
    if (agent || controller) say('stopped');
  }
}

/** Where a local client reaches a listener bound to `host`. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function waitForSignal(): { promise: Promise<'stopped'>; dispose: () => void } {
  let onSignal = (): void => undefined;
  const promise = new Promise<'stopped'>((resolveSignal) => {
    onSignal = () => resolveSignal('stopped');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return { promise, dispose: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); } };
}

/** Stages and deploys through the client, exactly as `zeek-mgmt --controller HOST:PORT deploy-config FILE` would. */
async function deploy(file: string, controller: string): Promise<number> {
  const [{ buildContext }, { deployConfig }] = await Promise.all([import('../client/context.js'), import('../client/commands.js')]);
  const ctx = await buildContext({ controller });
  if (!ctx.ok) { say(ctx.error); return 1; }
  say(`deploying ${file}`);
  return deployConfig(ctx.value, file);
}
