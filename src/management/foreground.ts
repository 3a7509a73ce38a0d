/**
 * How a daemon runs in the foreground (`up`, `controller`, `agent`): it stops
 * on SIGINT and SIGTERM, and on SIGHUP (the terminal closed, the ssh session
 * lost; Node resets an inherited "ignore SIGHUP", so even under nohup the
 * default would be to die on the spot) unless it reloads on SIGHUP, as the
 * controller and agent daemons do (their TLS material and credentials). Its own output that can no longer be written
 * (a pipe closed early, `| head`; a terminal that hung up) is dropped rather
 * than fatal: dying of it would leave the nodes it owns without their owner.
 */
export interface Foreground {
  /** Resolves with the signal that asked the daemon to stop. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** What SIGHUP does from now on, instead of stopping (a daemon sets it once it can reload). */
  onHangup(reload: () => void): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** `reloads`: SIGHUP never stops this process; before onHangup() is called it is ignored. */
export function runInForeground(options: { reloads?: boolean } = {}): Foreground {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const stopSignals: NodeJS.Signals[] = options.reloads ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => resolve(signal);
    for (const s of stopSignals) process.once(s, onSignal);
  });
  let reload = (): void => undefined;
  const hangup = (): void => reload();
  if (options.reloads) process.on('SIGHUP', hangup);
  return {
    stopped,
    onHangup: (r) => { reload = r; },
    dispose: () => {
      for (const s of stopSignals) process.off(s, onSignal);
      process.off('SIGHUP', hangup);
    },
  };
}
