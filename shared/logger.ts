/**
 * The logging seam of the persistence layer (and, through it, of the server): the four levels with
 * pino's call shape, so a pino logger satisfies it and tests pass `silentLogger`.
 *
 *   logger.error({ err, rows: 12 }, 'update log commit failed')
 */

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const ignore = (): void => {};

/** Drops everything. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
