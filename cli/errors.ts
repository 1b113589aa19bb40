/**
 * The command line's errors, each with its exit code, mapped once (main.ts): 2 for usage and for
 * anything the server or the network did wrong, 1 when the command ran and its answer is "no"
 * (a gate failed, an import was refused). Every message fits on one line; stack traces never reach
 * the user.
 *
 *   throw new UsageError('--max-drop must be a number >= 0')
 */

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export abstract class CliError extends Error {
  abstract readonly exitCode: number;
  /** Machine-readable kind, printed with --json. */
  abstract readonly code: string;
}

/** Bad flags, a missing file, a missing setting. */
export class UsageError extends CliError {
  readonly exitCode = EXIT.usage;
  readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The server could not be reached at all. */
export class ConnectionError extends CliError {
  readonly exitCode = EXIT.usage;
  readonly code = 'unreachable';
  constructor(url: string, cause: string) {
    super(`cannot reach ${url}: ${cause}`);
    this.name = 'ConnectionError';
  }
}

export interface ServerErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** The server answered with an error status (`{ error: { code, message, details } }`). */
export class ServerError extends CliError {
  readonly exitCode: number = EXIT.usage;
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  constructor(status: number, body: ServerErrorBody, what: string) {
    const hint = status === 401 ? ' (check ANNOSYNC_TOKEN or --token)' : '';
    super(`${what}: ${status} ${body.code}: ${body.message}${hint}`);
    this.name = 'ServerError';
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

/** A located problem of an import, as the server lists them. */
export interface Diagnostic {
  code: string;
  message: string;
  place: string;
}

/** The server refused an import (422) with its located diagnostics. */
export class ImportRefusedError extends CliError {
  readonly exitCode = EXIT.failed;
  readonly code = 'import_refused';
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[]) {
    super(message);
    this.name = 'ImportRefusedError';
    this.diagnostics = diagnostics;
  }
}

/** A detections file the command refuses before anything is sent, with located problems. */
export class InputFileError extends CliError {
  readonly exitCode = EXIT.usage;
  readonly code = 'invalid_file';
  readonly diagnostics: Diagnostic[];
  constructor(message: string, diagnostics: Diagnostic[] = []) {
    super(message);
    this.name = 'InputFileError';
    this.diagnostics = diagnostics;
  }
}

/** The head run is worse than the baseline by more than allowed. */
export class GateFailedError extends CliError {
  readonly exitCode = EXIT.failed;
  readonly code = 'gate_failed';
  constructor(message: string) {
    super(message);
    this.name = 'GateFailedError';
  }
}
