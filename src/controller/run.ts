/** Runs the controller in the foreground until SIGINT/SIGTERM/SIGHUP. */
import { runInForeground } from '../management/foreground.js';
import { resolveControllerOptions, type ControllerFlags } from './config.js';
import { StateLockError, startController } from './main.js';
import { StoreError } from './store.js';

export async function runControllerCommand(flags: ControllerFlags): Promise<number> {
  const resolved = resolveControllerOptions(flags);
  if (!resolved.ok) {
    process.stderr.write(`zeek-mgmt controller: ${resolved.error}\n`);
    return 2;
  }
  const options = resolved.value;
  // Handlers first: a signal that arrives while starting still closes cleanly.
  const foreground = runInForeground();
  try {
    const controller = await startController(options);
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
