/**
 * What the benches that run builds side by side share (fanout-pair.ts, reconnect-pair.ts): their
 * command line (`--name=value` options, `--flag`s, the builds given as `--main=path/to/main.js`)
 * and their servers (each build, then the reference unless `--no-reference`); `--main=A.js@--flag,NAME=value`
 * runs a build under node flags or environment variables of its own.
 *
 *   const { option, flag, mains } = pairArgs('usage: npx tsx bench/x-pair.ts --main=A.js …');
 *   const servers = await startPairServers({ mains, nodeArgs, pglite: flag('pglite'), reference: !flag('no-reference') });
 */
import { ANNOSYNC_BENCH_ENV } from './annosync-rooms.ts';
import { startServer, type BenchServer } from './server-process.ts';

export function pairArgs(usage: string): { option(name: string, fallback: string): string; flag(name: string): boolean; mains: string[] } {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string): string => {
    const found = argv.find((a) => a.startsWith(`--${name}=`));
    return found ? found.slice(name.length + 3) : fallback;
  };
  const flag = (name: string): boolean => argv.includes(`--${name}`);
  if (flag('help')) {
    console.log(usage);
    process.exit(0);
  }
  const mains = argv.filter((a) => a.startsWith('--main=')).map((a) => a.slice('--main='.length));
  if (mains.length === 0) throw new Error('give at least one --main=path/to/server/main.js');
  // Every WebsocketProvider adds a process 'exit' listener: hundreds of clients are not a leak.
  process.setMaxListeners(0);
  return { option, flag, mains };
}

/** Each build on its own server (Postgres at postgres://postgres@127.0.0.1:5432/test, or PGlite), then the reference. */
export async function startPairServers(opts: {
  mains: string[];
  nodeArgs: string[];
  pglite: boolean;
  reference: boolean;
  /** The fan-out's floor too (bench/lib/sync-floor.ts): a relay no server can beat. */
  floor?: boolean;
}): Promise<Array<{ name: string; server: BenchServer }>> {
  const servers: Array<{ name: string; server: BenchServer }> = [];
  for (const spec of opts.mains) {
    // `--main=dist/server/main.js@--max-semi-space-size=32,COMMIT_INTERVAL_MS=40`: the same build
    // under node flags (`--…`) or environment variables (`NAME=value`) of its own.
    const [main, extra = ''] = spec.split('@') as [string, string?];
    const items = extra.split(',').filter(Boolean);
    const flags = items.filter((item) => item.startsWith('--'));
    // Split at the first '=' only: a value may hold more (a URL's query string).
    const env = Object.fromEntries(items.filter((item) => !item.startsWith('--')).map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]));
    const server = await startServer({
      kind: 'annosync',
      main,
      env: { ...ANNOSYNC_BENCH_ENV, ...env },
      nodeArgs: [...opts.nodeArgs, ...flags],
      ...(opts.pglite ? {} : { databaseUrl: 'postgres://postgres@127.0.0.1:5432/test' }),
    });
    servers.push({ name: spec, server });
  }
  if (opts.floor === true) servers.push({ name: 'floor (relay)', server: await startServer({ kind: 'sync-floor', nodeArgs: opts.nodeArgs }) });
  if (opts.reference) servers.push({ name: 'reference', server: await startServer({ kind: 'reference', nodeArgs: opts.nodeArgs }) });
  return servers;
}
