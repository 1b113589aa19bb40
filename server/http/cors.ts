/**
 * CORS for the browser frontends in ALLOWED_ORIGINS. With no list, no CORS headers are
 * sent, so browsers on other origins cannot read responses; tokens are bearer headers, never
 * cookies, so there is no ambient credential to protect beyond that.
 */
import type { Middleware } from 'koa';

export function corsMiddleware(allowedOrigins: readonly string[]): Middleware {
  const allowed = new Set(allowedOrigins);
  return async (ctx, next) => {
    const origin = ctx.get('Origin');
    if (origin && allowed.has(origin)) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Vary', 'Origin');
      ctx.set('Access-Control-Expose-Headers', 'X-Request-Id, X-Annosync-Loss, Retry-After, Content-Disposition');
      if (ctx.method === 'OPTIONS') {
        ctx.set('Access-Control-Allow-Methods', 'GET, POST, PATCH, PUT, DELETE, OPTIONS');
        ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id, Last-Event-ID');
        ctx.set('Access-Control-Max-Age', '600');
        ctx.status = 204;
        return;
      }
    }
    await next();
  };
}
