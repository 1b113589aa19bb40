/**
 * `server/main.ts` with the socket authorizer replaced by `allowEveryone` (ServerOptions.authorize):
 * no Origin check, no token verification, no document lookup before the upgrade. REST still needs
 * a token. Only for measuring what socket auth costs ("overhead of auth and limits"):
 *
 *   npx tsx bench/sync.ts --only annosync --postgres --scenarios fanout,throughput \
 *     --annosync-main bench/lib/annosync-allow-all.ts
 *
 * The per-message limits (rate bucket, update size) stay on; bench/auth-overhead.ts measures them.
 */
import { configFromEnv } from '../../server/config.ts';
import { createServer } from '../../server/create-server.ts';
import { allowEveryone } from '../../server/sync/sync-endpoint.ts';

const server = await createServer(configFromEnv(process.env), { authorize: allowEveryone });
const { url } = await server.listen();
process.stdout.write(`annosync (socket auth off) listening on ${url}\n`);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
