/**
 * What the process entry (server/main.ts) runs: read the configuration, build the server, listen,
 * and stop cleanly on SIGTERM/SIGINT (stop accepting, flush, close sockets with 1001, exit 0).
 */
import { configFromEnv, ConfigError } from './config.ts';
import { createServer } from './create-server.ts';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Resolves once the server listens (after `onListening`); a configuration error exits with 1. */
export async function start(onListening: () => void): Promise<void> {
  let config;
  try {
    config = configFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (!config.authSecret && !isLoopback(config.host)) {
    // A secret we made ourselves and an admin token printed to a console are for one machine only.
    process.stderr.write(`annosync: no AUTH_SECRET, so binding to 127.0.0.1 instead of ${config.host}\n`);
    config = { ...config, host: '127.0.0.1' };
  }
  const server = await createServer(config);
  const { url } = await server.listen();
  onListening();
  const wsUrl = url.replace(/^http/, 'ws');
  const database = config.databaseUrl ? 'postgres (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  process.stdout.write(
    [
      `annosync listening on ${url}`,
      `  database: ${database}`,
      ...(config.redisUrl ? ['  redis:    sharing documents with the other processes on REDIS_URL'] : []),
      `  sync:     ${wsUrl}/sync/<docName>   (docName = session:<id> | test-run:<id> | dashboard:<id>)`,
      `  frontend: new WebsocketProvider('${wsUrl}/sync', 'session:<id>', ydoc)`,
      `  health:   ${url}/health`,
      `  REST API: ${url}/api (docs at ${url}/docs)`,
      '',
    ].join('\n'),
  );
  if (server.generatedSecret) {
    const adminToken = await server.tokens.sign({ sub: 'admin', name: 'admin', admin: true }, { expiresIn: '30d' });
    process.stdout.write(
      [
        `  no AUTH_SECRET set: using a secret kept in ${config.dataDir}/auth-secret, bound to loopback`,
        `  admin token (30 days): ${adminToken}`,
        `    REST:   curl -H 'Authorization: Bearer <token>' ${url}/api/projects`,
        `    socket: new WebsocketProvider('${wsUrl}/sync', 'session:<id>', ydoc, { params: { token } })`,
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`annosync: ${signal}, flushing and closing\n`);
    const deadline = setTimeout(() => {
      process.stderr.write('annosync: shutdown took longer than 10 s, exiting\n');
      process.exit(1);
    }, 10_000);
    deadline.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`annosync: error during shutdown: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
