/** Runs the controller in the foreground until SIGINT/SIGTERM. */
import { resolveControllerOptions, SettingsError, type ControllerFlags } from './config.js';
import { startController } from './main.js';
import { StoreError } from './store.js';

export async function runControllerCommand(flags: ControllerFlags): Promise<number> {
  let options;
  try {
    options = resolveControllerOptions(flags);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`zeek-mgmt controller: ${err.message}\n`);
    return 2;
  }
  let controller;
  try {
    controller = await startController(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const msg = err instanceof StoreError ? e.message
      : e.code === 'EADDRINUSE' ? `cannot listen: address in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')})`
        : e.message;
    process.stderr.write(`zeek-mgmt controller: ${msg}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await controller.close();
  return 0;
}
