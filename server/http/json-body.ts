/**
 * Sets a response body, JSON values as their text: what Koa would send for them, without Koa's
 * look at them on the way. Koa's body setter asks of an object whether it is a fetch `Response`,
 * and on Node 20 the first touch of the global `Response` makes Node load undici, its fetch
 * implementation, which this server never uses: 5 MiB of RSS and 2 MiB of heap from the first
 * JSON answer on (persistence/pg-driver.ts keeps the pg driver from loading it at start).
 *
 *   setBody(ctx, { error: { code, message } })   // application/json, as Koa would send it
 *   setBody(ctx, buffer)                         // anything else goes to Koa as it is
 */
import type { Context } from 'koa';

export function setBody(ctx: Context, body: unknown): void {
  if (!isJsonValue(body)) {
    ctx.body = body;
    return;
  }
  // Koa's own rule for an object body: a JSON type unless one is set already.
  if (!/\bjson\b/i.test(ctx.type)) ctx.type = 'json';
  ctx.body = JSON.stringify(body);
}

/** What Koa serializes itself: not text, bytes, a stream or a blob (nor null, an empty body). */
function isJsonValue(body: unknown): boolean {
  if (typeof body === 'number' || typeof body === 'boolean') return true;
  if (typeof body !== 'object' || body === null) return false;
  if (body instanceof Uint8Array || body instanceof Blob || body instanceof ReadableStream) return false;
  return typeof (body as { pipe?: unknown }).pipe !== 'function';
}
