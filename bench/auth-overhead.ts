/**
 * What socket auth and the per-message limits cost, measured in isolation ("overhead of
 * auth and limits"); the end-to-end comparison is bench/sync.ts with and without
 * `--annosync-main bench/lib/annosync-allow-all.ts`.
 *
 *   npx tsx bench/auth-overhead.ts
 *
 * Per connection: `createSyncAuthorizer` (Origin, `?token=` verify, document lookup, role) with a
 * token already in the verified-token cache (a reconnect), with a new token each time (jose HS256
 * verify), and `allowEveryone` for reference. The document lookup is a constant async function,
 * as the session cache answers a warm lookup. Per message: the token-bucket rate check, next to
 * Y.applyUpdate of a one-annotation edit for scale.
 */
import type { IncomingMessage } from 'node:http';
import { EventEmitter } from 'node:events';
import * as Y from 'yjs';
import { createTokenService } from '../server/services/tokens.ts';
import { createSyncAuthorizer } from '../server/sync/sync-auth.ts';
import { allowEveryone } from '../server/sync/sync-endpoint.ts';
import { Connection } from '../server/sync/connection.ts';
import { defaultLimits } from '../server/config.ts';
import { silentLogger } from '../shared/logger.ts';
import { parseDocName } from '../docs-model/protocol.ts';
import type { LiveDocument } from '../server/documents/live-document.ts';
import type { WebSocket } from 'ws';

const SECRET = 'annosync-bench-secret-0123456789abcdef';
const tokens = createTokenService(SECRET);
const docName = parseDocName('session:bench')!;
const request = { headers: { origin: 'https://app.example' } } as unknown as IncomingMessage;
const authorize = createSyncAuthorizer({ tokens, directory: { projectOf: async () => 'p1' }, allowedOrigins: ['https://app.example'] });

async function timeAsync(label: string, n: number, run: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await run(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await run(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${label.padEnd(58)} ${us.toFixed(2).padStart(9)} µs`);
  return us;
}

function timeSync(label: string, n: number, run: () => unknown): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run();
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(1).padStart(9)} ns`);
  return ns;
}

const cachedToken = await tokens.sign({ sub: 'ada', projects: { p1: 'annotator' } });
const cachedUrl = new URL(`http://h/sync/session:bench?token=${cachedToken}`);
const fresh = 3000;
// More distinct tokens than the cache keeps (1 000), signed beforehand: every verify is a miss.
const freshUrls = await Promise.all(
  Array.from({ length: fresh + 200 }, async (_, i) => new URL(`http://h/sync/session:bench?token=${await tokens.sign({ sub: `u${i}`, projects: { p1: 'viewer' } })}`)),
);

console.log('per connection (before the upgrade)');
const none = await timeAsync('  allowEveryone', 20_000, () => allowEveryone(request, docName, cachedUrl));
const cached = await timeAsync('  createSyncAuthorizer, token in the verified cache', 20_000, () => authorize(request, docName, cachedUrl));
const uncached = await timeAsync('  createSyncAuthorizer, new token (jose HS256 verify)', fresh, (i) => authorize(request, docName, freshUrls[(i + 200) % freshUrls.length]!));

// A Connection over a stand-in socket and document, to time its real message path.
const ws = Object.assign(new EventEmitter(), { OPEN: 1, readyState: 1, send: () => undefined, close: () => undefined });
const doc = { name: 'session:bench', awareness: { encodeAll: () => null } } as unknown as LiveDocument;
const connection = new Connection(ws as unknown as WebSocket, doc, {
  principal: { id: 'ada', name: 'ada', readOnly: false },
  wantsAcks: false,
  limits: { ...defaultLimits, messagesPerSecond: 1e12, messageBurst: 1e12 },
  logger: silentLogger,
  onClose: () => undefined,
});
const rate = connection as unknown as { takeToken(): boolean };
const queryAwareness = Buffer.from([3]);

console.log('per message');
const bucket = timeSync('  rate check (token bucket)', 5_000_000, () => rate.takeToken());
const path = timeSync('  whole Connection message path, query-awareness', 2_000_000, () => ws.emit('message', queryAwareness, true));
const source = new Y.Doc();
const edits: Uint8Array[] = [];
source.on('update', (u: Uint8Array) => edits.push(u));
const annotations = source.getMap<Y.Map<unknown>>('annotations');
const a = new Y.Map<unknown>();
annotations.set('a1', a);
for (let i = 0; i < 40_000; i++) a.set('bbox', [i, i, 10, 10]);
const target = new Y.Doc();
Y.applyUpdate(target, edits[0]!);
let k = 1;
const apply = timeSync('  for scale: Y.applyUpdate of one box move', 19_000, () => Y.applyUpdate(target, edits[k++]!));

console.log(
  JSON.stringify({
    perConnectionUs: { allowEveryone: +none.toFixed(2), cachedToken: +cached.toFixed(2), newToken: +uncached.toFixed(2) },
    perMessageNs: { rateCheck: +bucket.toFixed(1), messagePath: +path.toFixed(1), applyOneBoxMove: +apply.toFixed(1) },
  }),
);
