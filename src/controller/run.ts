/** Runs the controller in the foreground until SIGINT/SIGTERM. */
import { resolveControllerOptions, type ControllerFlags } from './config.js';
import { startController } from './main.js';
import { StoreError } from './store.js';

export async function runControllerCommand(flags: ControllerFlags): Promise<number> {
  const resolved = resolveControllerOptions(flags);
  if (!resolved.ok) {
    process.stderr.write(`zeek-mgmt controller: ${resolved.error}\n`);
    return 2;
  }
  const options = resolved.value;
  // Handlers first: a signal that arrives while starting still closes cleanly.
  let stop = (): void => undefined;
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const controller = await startController(options);
    await stopped;
    await controller.close();
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const msg = err instanceof StoreError ? e.message
      : e.code === 'EADDRINUSE' ? `cannot listen: address in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')})`
        : e.message;
    process.stderr.write(`zeek-mgmt controller: ${msg}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
