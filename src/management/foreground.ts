/**
 * How a daemon runs in the foreground (`up`, `controller`, `agent`): it stops
 * on SIGINT, SIGTERM and SIGHUP (the terminal closed, the ssh session lost;
 * Node resets an inherited "ignore SIGHUP", so even under nohup the default
 * would be to die on the spot). Its own output that can no longer be written
 * (a pipe closed early, `| head`; a terminal that hung up) is dropped rather
 * than fatal: dying of it would leave the nodes it owns without their owner.
 */
export interface Foreground {
  /** Resolves with the signal that asked the daemon to stop. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Removes the signal handlers. */
  dispose(): void;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function runInForeground(): Foreground {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => resolve(signal);
    for (const s of STOP_SIGNALS) process.once(s, onSignal);
  });
  return { stopped, dispose: () => { for (const s of STOP_SIGNALS) process.off(s, onSignal); } };
}
