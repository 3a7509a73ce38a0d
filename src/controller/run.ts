/** Runs the controller in the foreground until SIGINT/SIGTERM/SIGHUP. */
import { runInForeground } from '../management/foreground.js';
import { resolveControllerOptions, type ControllerFlags } from './config.js';
import { StateLockError, startController } from './main.js';
import { StoreError } from './store.js';
import { agentKey, controllerSecret, writeKeyFile } from '../management/agent-key.js';
import { USABLE_NAME } from '../management/identifiers.js';

/** `zeek-mgmt agent-key NAME -o FILE`. */
export function writeAgentKey(agent: string, flags: { name?: string; stateDir?: string; output: string }): number {
  const say = (line: string): void => { process.stderr.write(`zeek-mgmt agent-key: ${line}\n`); };
  if (!USABLE_NAME.test(agent)) { say(`agent name ${JSON.stringify(agent)} may hold only letters, digits, '_', '.', ':' and '-'`); return 2; }
  const resolved = resolveControllerOptions({ ...(flags.name ? { name: flags.name } : {}), ...(flags.stateDir ? { stateDir: flags.stateDir } : {}) });
  if (!resolved.ok) { say(resolved.error); return 2; }
  const secret = controllerSecret(resolved.value.stateDir);
  if (!secret.ok) { say(secret.error); return 1; }
  try {
    writeKeyFile(flags.output, agentKey(secret.value, agent));
  } catch (err) {
    say(`cannot write ${flags.output}: ${(err as Error).message}`);
    return 1;
  }
  say(`wrote the key of agent ${agent} to ${flags.output}; on its host: zeek-mgmt agent --name ${agent} --key-file FILE`);
  return 0;
}

export async function runControllerCommand(flags: ControllerFlags): Promise<number> {
  const resolved = resolveControllerOptions(flags);
  if (!resolved.ok) {
    process.stderr.write(`zeek-mgmt controller: ${resolved.error}\n`);
    return 2;
  }
  const options = resolved.value;
  // Handlers first: a signal that arrives while starting still closes cleanly.
  const foreground = runInForeground({ reloads: true });
  try {
    const controller = await startController(options);
    foreground.onHangup(() => { void controller.reload(); });
    await foreground.stopped;
    await controller.close();
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const msg = err instanceof StoreError || err instanceof StateLockError ? e.message
      : e.code === 'EADDRINUSE' ? `cannot listen: address in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')})`
        : e.message;
    process.stderr.write(`zeek-mgmt controller: ${msg}\n`);
    return 1;
  } finally {
    foreground.dispose();
  }
}
