/**
 * Runs the controller and the local agent (told that the controller runs
 * beside it) in this process until SIGINT/SIGTERM/SIGHUP, then stops the agent with
 * its nodes and the controller, so nothing is left behind. With --config,
 * stages and deploys that configuration once the agent has connected.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { resolveAgentConfig, type AgentFlags } from '../agent/config.js';
import { startAgent, type Agent } from '../agent/main.js';
import { resolveControllerOptions } from '../controller/config.js';
import { agentKey, controllerSecret } from '../management/agent-key.js';
import type { TlsFlags } from '../management/settings.js';
import { startController, type Controller } from '../controller/main.js';
import { limitFlagsOf } from '../management/limits.js';
import { runInForeground } from '../management/foreground.js';
import { connectHost, dashboardUrl } from '../controller/dashboard.js';
import { isLoopback } from '../protocol/index.js';
import { waitForInstance } from './wait.js';

export interface UpFlags extends TlsFlags {
  authFile?: string;
  requireAuth?: boolean;
  allowOrigin?: string[];
  insecure?: boolean;
  allowLoaderEnv?: boolean;
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
  maxRestartBackoff?: string;
  startLimit?: string;
  keepCrashes?: string;
  logLevel?: string;
  logFormat?: string;
  nodeUser?: string;
}

const say = (line: string): void => { process.stderr.write(`zeek-mgmt up: ${line}\n`); };

export async function runUp(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = raw as UpFlags;
  const base = resolve(flags.stateDir ?? (env.ZEEK_MANAGEMENT_STATE_DIR || '.zeek-mgmt'));
  const tlsFlags: TlsFlags = {
    ...(flags.tlsCert ? { tlsCert: flags.tlsCert } : {}), ...(flags.tlsKey ? { tlsKey: flags.tlsKey } : {}),
    ...(flags.tlsCa ? { tlsCa: flags.tlsCa } : {}), ...(flags.tlsPassphraseFile ? { tlsPassphraseFile: flags.tlsPassphraseFile } : {}),
  };
  const security = {
    ...tlsFlags,
    ...(flags.authFile ? { authFile: flags.authFile } : {}),
    ...(flags.allowOrigin ? { allowOrigin: flags.allowOrigin } : {}),
    requireAuth: flags.requireAuth === true,
    insecure: flags.insecure === true,
  };
  const logFormat = flags.logFormat ? { logFormat: flags.logFormat } : {};
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
    ...limitFlagsOf(raw),
    ...security,
    ...logFormat,
    stateDir: base,
  }, env) : probe;
  if (!resolvedController.ok) { say(resolvedController.error); return 2; }
  // The in-process client (waiting for the agent, --config) authenticates with a token of this run.
  const launchToken = randomBytes(24).toString('base64url');
  const controllerOptions = { ...resolvedController.value, security: { ...resolvedController.value.security, launchToken } };
  const clientSets = [`auth.token=${launchToken}`];
  if (controllerOptions.security.tls) {
    clientSets.push('ssl.enable=true');
    if (controllerOptions.security.tls.ca) clientSets.push(`ssl.cafile=${controllerOptions.security.tls.ca}`);
  }
  // Check the agent's flags before anything starts, with a placeholder controller port.
  const agentFlags = (controllerPort: number, key: Buffer): AgentFlags => ({
    ...tlsFlags,
    key,
    insecure: flags.insecure === true,
    allowLoaderEnv: flags.allowLoaderEnv === true,
    ...(flags.agentName ? { name: flags.agentName } : {}),
    ...(flags.agentListenPort ? { listenPort: flags.agentListenPort } : {}),
    listen: flags.agentListen !== false,
    controller: `${connectHost(controllerOptions.agentHost)}:${controllerPort}`,
    runtime: flags.runtime ?? 'auto',
    ...(flags.zeekPath ? { zeekPath: flags.zeekPath } : {}),
    ...(flags.nodeTimeout ? { nodeTimeout: flags.nodeTimeout } : {}),
    ...(flags.stopGrace ? { stopGrace: flags.stopGrace } : {}),
    ...(flags.restartBackoff ? { restartBackoff: flags.restartBackoff } : {}),
    ...(flags.maxRestartBackoff ? { maxRestartBackoff: flags.maxRestartBackoff } : {}),
    ...(flags.startLimit ? { startLimit: flags.startLimit } : {}),
    ...(flags.keepCrashes ? { keepCrashes: flags.keepCrashes } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
    ...(flags.nodeUser ? { nodeUser: flags.nodeUser } : {}),
    ...limitFlagsOf(raw),
    ...logFormat,
    stateDir: base,
  });
  const checked = resolveAgentConfig(agentFlags(controllerOptions.agentPort || 1, Buffer.alloc(32)), env, process.cwd());
  if (!checked.ok) { say(checked.error); return 2; }
  const agentName = checked.value.options.name;

  // A cluster file that cannot be read or does not parse stops `up` before anything starts.
  if (flags.config) {
    const problem = await checkClusterFile(flags.config);
    if (problem) { say(problem); return 1; }
  }

  let controller: Controller | undefined;
  let agent: Agent | undefined;
  // SIGHUP stops `up` as Ctrl-C does: the terminal that owns it is gone.
  const foreground = runInForeground();
  const stopped = { promise: foreground.stopped.then(() => 'stopped' as const), dispose: foreground.dispose };
  try {
    controller = await startController(controllerOptions);
    // The agent's key, derived from the secret the controller keeps in its state directory (0600).
    const secret = controllerSecret(controller.stateDir);
    if (!secret.ok) { say(secret.error); return 1; }
    const outcome = resolveAgentConfig(agentFlags(controller.agentPort, agentKey(secret.value, agentName)), env, process.cwd());
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
    // Where an anonymous page would be refused, the address carries this run's token (the page takes it from the fragment).
    const security = controllerOptions.security;
    // (The address printed is the one reached from here: a wildcard bind is on loopback, where an anonymous page is an operator.)
    const pageNeedsToken = security.requireAuth || (!isLoopback(clientHost) && !security.insecure);
    const dashboard = dashboardUrl(clientHost, controller.clientPort, { tls: security.tls !== undefined, ...(pageNeedsToken ? { token: launchToken } : {}) });
    say(`dashboard: ${dashboard}`);
    const o = resolved.options;
    const runtime = o.runtime === 'zeek' ? `zeek runtime: ${o.zeekPath}, Zeek ${o.zeekVersion?.text ?? '?'}` : 'sim runtime: simulated nodes';
    say(`agent ${agent.name} (${runtime})${agent.listenPort !== undefined ? ` listening on ${resolved.options.listenHost}:${agent.listenPort}` : ''}, state ${agent.stateDir}`);
    const ready = await waitForInstance({ host: connectHost(controllerOptions.clientHost), port: controller.clientPort }, clientSets, agent.name, 20_000, stopped.promise);
    if (!ready.ok) { say(ready.error); return 1; }
    if (ready.value === 'stopped') return 0;
    say(`agent ${agent.name} connected to the controller`);
    const controllerFlag = controller.clientPort === 2149 && clientAt.startsWith('127.0.0.1:') ? '' : ` --controller ${clientAt}`;
    if (flags.config) {
      const code = await deploy(flags.config, clientAt, clientSets);
      if (code !== 0) say(`deploying ${flags.config} failed (see above); the controller and agent keep running`);
    }
    const persisted = flags.config ? undefined : controller.deployedConfigId;
    process.stderr.write([
      '',
      ...(persisted ? [`The controller is redeploying the configuration it had deployed before, ${persisted}, to its agents as they connect.`] : []),
      `Ready. In another terminal${flags.config || persisted ? '' : ', deploy a cluster'}:`,
      ...(flags.config || persisted ? [] : [`  zeek-mgmt${controllerFlag} deploy-config examples/mini.ini`]),
      ...(persisted ? [`  zeek-mgmt${controllerFlag} get-config --deployed`] : []),
      `  zeek-mgmt${controllerFlag} get-nodes --table`,
      `  zeek-mgmt${controllerFlag} get-id-value Cluster::node`,
      `  zeek-mgmt${controllerFlag} monitor`,
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
/** Why the cluster configuration file cannot be deployed (unreadable, or does not parse), or undefined. */
async function checkClusterFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return `--config ${file}: cannot read it: ${(err as Error).message}`;
  }
  const { parseClusterConfig } = await import('../client/cluster-config.js');
  const parsed = parseClusterConfig(text, { source: file, hostname: hostname() || 'localhost' });
  return parsed.ok ? undefined : `--config: ${parsed.error}; nothing was started`;
}

/** Stages and deploys through the client, exactly as `zeek-mgmt --controller HOST:PORT deploy-config FILE` would. */
async function deploy(file: string, controller: string, set: string[]): Promise<number> {
  const [{ buildContext }, { deployConfig }] = await Promise.all([import('../client/context.js'), import('../client/commands.js')]);
  const ctx = await buildContext({ controller, set });
  if (!ctx.ok) { say(ctx.error); return 1; }
  say(`deploying ${file}`);
  return deployConfig(ctx.value, file);
}
