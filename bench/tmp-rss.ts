import { readRssBytes, startServer, stopServer, killAllSync, removeTempDirs } from './lib/server-process.ts';
process.on('exit', killAllSync);
for (const db of [undefined, 'postgres://postgres@127.0.0.1:5432/test']) {
  const s = await startServer({ kind: 'annosync', env: { AUTH_SECRET: 'x'.repeat(40), LOG_LEVEL: 'warn' }, ...(db ? { databaseUrl: db } : {}) });
  await new Promise((r) => setTimeout(r, 1000));
  console.log(db ? 'postgres' : 'pglite', 'idle RSS', (readRssBytes(s.pid) / 1e6).toFixed(0), 'MB');
  await stopServer(s);
}
removeTempDirs();
