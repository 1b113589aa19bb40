/**
 * The floor under `bench:rest`'s GET numbers: a koa server that answers every request with the
 * same JSON body (FLOOR_BODY_BYTES long) and an X-Request-Id, and does nothing else — Node's HTTP
 * and koa alone, on the same machine, under the same load. Started by `startServer({ kind:
 * 'http-floor' })`; prints the ready line annosync prints.
 */
import Koa from 'koa';
import { randomUUID } from 'node:crypto';

const bytes = Number(process.env.FLOOR_BODY_BYTES ?? 1024);
const body = JSON.stringify({ items: [{ pad: 'x'.repeat(Math.max(0, bytes - 24)) }], nextCursor: null });
const app = new Koa();
app.use(async (ctx) => {
  ctx.set('X-Request-Id', randomUUID());
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = body;
});
const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') console.log(`listening on http://${address.address}:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
