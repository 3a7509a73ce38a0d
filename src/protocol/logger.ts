/**
 * The logging surface the protocol layer needs. A pino logger satisfies it;
 * the default discards everything, so embedding code decides what is logged.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const discard = (): void => undefined;
export const silentLogger: Logger = { debug: discard, info: discard, warn: discard, error: discard };
