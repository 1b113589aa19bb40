/**
 * What a reconnect storm costs the stock clients in messages, and how soon presence is whole again:
 * `docs` documents × `per-doc` synced y-websocket clients, all calling `disconnect()` and
 * `connect()` at once (as `bench:sync`'s reconnect), per build and the reference. Per reconnecting
 * client and round: the messages its sockets received by type (sync step 1 / step 2, awareness;
 * those arriving on the socket it is closing apart) and sent; and, after each round, how long after
 * every client synced until every client sees every other of its document again (presence whole).
 * docs/architecture.md, "Who hears a change".
 *
 *   npx tsx bench/reconnect-messages.ts --main=.tmp/old/dist/server/main.js --main=dist/server/main.js
 *
 * Options: --docs=20, --per-doc=10, --rounds=10 (after 3 unmeasured), --no-reference, --pglite.
 */
import WebSocket from 'ws';
import { pairArgs, startPairServers } from './lib/pair-bench.ts';
import { openSynced } from './lib/sync-scenarios.ts';
import { nextSynced, type Client } from './lib/clients.ts';
import { median } from './lib/stats.ts';
import { killAllSync, removeTempDirs, stopServer } from './lib/server-process.ts';

const { option, flag, mains } = pairArgs(
  'usage: npx tsx bench/reconnect-messages.ts --main=A.js [--main=B.js …] [--docs=20] [--per-doc=10] [--rounds=10] [--no-reference] [--pglite]',
);
const docs = Number(option('docs', '20'));
const perDoc = Number(option('per-doc', '10'));
const rounds = Number(option('rounds', '10'));
const WHOLE_TIMEOUT_MS = 5_000;

// Every socket of this process is a stock client's: count what they send and receive by type.
const counts = new Map<string, number>();
const count = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
const TYPES: Record<string, string> = { '0.0': 'sync step 1', '0.1': 'sync step 2', '0.2': 'sync update', '1': 'awareness' };
const typeOf = (bytes: Uint8Array): string => TYPES[bytes[0] === 0 ? `0.${bytes[1]}` : String(bytes[0])] ?? `type ${bytes[0]}`;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0], ...rest: unknown[]) {
  count(`out: ${typeOf(new Uint8Array(data as ArrayBuffer))}`);
  return (send as (...args: unknown[]) => void).call(this, data, ...rest);
} as WebSocket['send'];
const emit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
  if (event === 'message') count(`in: ${typeOf(new Uint8Array(args[0] as Buffer))}${this.readyState === WebSocket.OPEN ? '' : ' (closing socket)'}`);
  return emit.call(this, event, ...args);
};

/** Resolves with the ms until every client sees all `perDoc` states of its document (Infinity past the timeout). */
async function presenceWhole(clients: readonly Client[]): Promise<number> {
  const t0 = performance.now();
  while (!clients.every((client) => client.provider.awareness.getStates().size === perDoc)) {
    if (performance.now() - t0 > WHOLE_TIMEOUT_MS) return Infinity;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - t0;
}

try {
  for (const { name, server } of await startPairServers({ mains, nodeArgs: [], pglite: flag('pglite'), reference: !flag('no-reference') })) {
    const prefix = `session:reconnect-messages-${process.pid}-${server.port}`;
    const rooms = Array.from({ length: docs * perDoc }, (_, i) => `${prefix}-${Math.floor(i / perDoc)}`);
    const clients = await openSynced(server, rooms);
    const round = async (): Promise<number> => {
      const synced = clients.map((client) => nextSynced(client, 60_000));
      for (const client of clients) {
        client.provider.disconnect();
        client.provider.connect();
      }
      await Promise.all(synced);
      return presenceWhole(clients);
    };
    try {
      await presenceWhole(clients);
      for (let i = 0; i < 3; i++) await round();
      counts.clear();
      const whole: number[] = [];
      for (let i = 0; i < rounds; i++) whole.push(await round());
      const perClient = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `${key} ${(n / rounds / clients.length).toFixed(2)}`);
      const missed = whole.filter((ms) => ms === Infinity).length;
      console.log(`${name}\n  per reconnecting client and round: ${perClient.join(', ')}`);
      console.log(
        `  presence whole after every client synced: median ${median(whole.filter((ms) => ms !== Infinity)).toFixed(1)} ms` +
          `, max ${Math.max(...whole).toFixed(1)} ms${missed > 0 ? ` (${missed} of ${rounds} rounds not whole within ${WHOLE_TIMEOUT_MS} ms)` : ''}`,
      );
    } finally {
      for (const client of clients) client.provider.destroy();
      await stopServer(server);
    }
  }
} finally {
  killAllSync();
  removeTempDirs();
}
