/**
 * Typed errors. Each carries an HTTP status, a WebSocket close code and a stable `code` string, so
 * the HTTP error middleware (`toAppError`) and the socket (`toCloseEvent`) each map them in exactly
 * one place; docs-model's own errors are understood by both (docs/architecture.md, "Errors").
 *
 *   throw new NotFoundError('session not found')          // → 404 { error: { code: 'not_found', … } }
 *   throw new ValidationError('invalid annotation', list)  // → 422 with details
 */
import { DocModelError } from '../../docs-model/errors.ts';
import { CloseCode, type CloseCodeValue } from '../../docs-model/protocol.ts';

export interface ErrorDetail {
  field?: string;
  code: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly closeCode: CloseCodeValue;
  readonly code: string;
  readonly details: unknown;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(
    message: string,
    opts: { status: number; closeCode: CloseCodeValue; code: string; details?: unknown; headers?: Record<string, string> },
  ) {
    super(message);
    this.name = new.target.name;
    this.status = opts.status;
    this.closeCode = opts.closeCode;
    this.code = opts.code;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }

  /** Client errors are shown as they are; server errors never leave the process. */
  get expose(): boolean {
    return this.status < 500;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: unknown, code = 'bad_request') {
    super(message, { status: 400, closeCode: CloseCode.invalidPayload, code, details });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'missing or invalid token') {
    super(message, {
      status: 401,
      closeCode: CloseCode.unauthorized,
      code: 'unauthorized',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'not allowed') {
    super(message, { status: 403, closeCode: CloseCode.forbidden, code: 'forbidden' });
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super(message, { status: 404, closeCode: CloseCode.notFound, code: 'not_found' });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown, code = 'conflict') {
    super(message, { status: 409, closeCode: CloseCode.policyViolation, code, details });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, details?: unknown) {
    super(message, { status: 413, closeCode: CloseCode.messageTooBig, code: 'too_large', details });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(message, { status: 415, closeCode: CloseCode.invalidPayload, code: 'unsupported_media_type' });
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetail[] | unknown, code = 'invalid') {
    super(message, { status: 422, closeCode: CloseCode.invalidPayload, code, details });
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterSeconds?: number, closeCode: CloseCodeValue = CloseCode.tryAgainLater) {
    super(message, {
      status: 429,
      closeCode,
      code: 'too_many_requests',
      headers: retryAfterSeconds === undefined ? {} : { 'Retry-After': String(Math.ceil(retryAfterSeconds)) },
    });
  }
}

export class UnavailableError extends AppError {
  constructor(message = 'temporarily unavailable') {
    super(message, { status: 503, closeCode: CloseCode.unavailable, code: 'unavailable' });
  }
}

/** A socket message that is not valid y-websocket. Only ever closes the one connection. */
export class InvalidMessageError extends AppError {
  constructor(message: string) {
    super(message, { status: 400, closeCode: CloseCode.invalidPayload, code: 'invalid_message' });
  }
}

/** A socket message that breaks a rule (rate, awareness ownership, depth). */
export class PolicyViolationError extends AppError {
  constructor(message: string, code = 'policy_violation') {
    super(message, { status: 400, closeCode: CloseCode.policyViolation, code });
  }
}

export class MessageTooBigError extends AppError {
  constructor(message: string) {
    super(message, { status: 413, closeCode: CloseCode.messageTooBig, code: 'too_large' });
  }
}

/** Anything that is not an AppError (or a docs-model error) is a bug: 500 / 1011, message hidden. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof DocModelError) return fromDocModelError(err);
  return new AppError('internal error', { status: 500, closeCode: CloseCode.internalError, code: 'internal' });
}

/**
 * The one socket mapping: the close code the error carries and a reason a client may read (the
 * message of a client error, "internal error" otherwise). `internal` marks a bug worth logging.
 */
export function toCloseEvent(err: unknown): { code: CloseCodeValue; reason: string; internal: boolean } {
  const appError = toAppError(err);
  return {
    code: appError.closeCode,
    reason: appError.expose ? appError.message : 'internal error',
    internal: appError.closeCode === CloseCode.internalError,
  };
}

/** docs-model problems as HTTP: not_found → 404, duplicate_id → 409, the rest → 422 naming the field. */
export function fromDocModelError(err: DocModelError): AppError {
  if (err.code === 'not_found') return new NotFoundError(err.message);
  if (err.code === 'invalid_content' && hasIndexedErrors(err.details)) {
    const details: ErrorDetail[] = err.details.errors.map(({ index, field, code, message }) => ({
      field: `[${index}].${field}`,
      code,
      message,
      index,
    }));
    // Ids that exist already are a conflict with the document's state, not invalid input.
    if (details.every((d) => d.code === 'duplicate_id')) return new ConflictError(err.message, details, 'duplicate_id');
    return new ValidationError(err.message, details);
  }
  const detail: ErrorDetail = { field: err.field, code: err.code, message: err.message };
  if (err.details !== undefined) detail.details = err.details;
  if (err.code === 'duplicate_id') return new ConflictError(err.message, [detail], 'duplicate_id');
  return new ValidationError(err.message, [detail]);
}

function hasIndexedErrors(
  details: unknown,
): details is { errors: Array<{ index: number; field: string; code: string; message: string }> } {
  return (
    typeof details === 'object' &&
    details !== null &&
    Array.isArray((details as { errors?: unknown }).errors)
  );
}
