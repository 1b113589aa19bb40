/**
 * The one place where an error becomes an HTTP response: `{ error: { code, message, details? } }`.
 * Client errors (4xx) show their message; anything else is logged with the request id and answered
 * with that id only — never a stack trace or SQL text.
 */
import type { Middleware } from 'koa';
import { CloseCode } from '../../docs-model/protocol.ts';
import { AppError, toAppError } from '../base/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { setBody } from './json-body.ts';

/** Koa and its body parsers throw errors with `status`/`expose`; keep their 4xx meaning. */
function fromHttpError(err: unknown): AppError | null {
  if (typeof err !== 'object' || err === null) return null;
  const status = (err as { status?: unknown }).status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  const message = err instanceof Error ? err.message : 'bad request';
  const code = status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
  return new AppError(message, { status, closeCode: CloseCode.invalidPayload, code });
}

export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        setBody(ctx, { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } });
      }
    } catch (err) {
      const appError = err instanceof AppError ? err : (fromHttpError(err) ?? toAppError(err));
      const requestId = String(ctx.state.requestId ?? '');
      ctx.status = appError.status;
      ctx.set(appError.headers);
      if (appError.expose) {
        setBody(ctx, {
          error: {
            code: appError.code,
            message: appError.message,
            ...(appError.details === undefined ? {} : { details: appError.details }),
          },
        });
      } else {
        logger.error({ err, requestId, method: ctx.method, path: ctx.path }, 'request failed');
        setBody(ctx, { error: { code: appError.code, message: 'internal error', requestId } });
      }
    }
  };
}
