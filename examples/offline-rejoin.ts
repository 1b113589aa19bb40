/**
 * Offline rejoin, the way annotators live it: Bob's network drops, he keeps drawing; Alice relabels
 * a box meanwhile; Bob comes back and both see both changes.
 *
 *   ANNOSYNC_URL=http://127.0.0.1:1234 ANNOSYNC_TOKEN=<token> npx tsx examples/offline-rejoin.ts <sessionId>
 *
 * The token needs the annotator role on the session's project (the admin token `npm start` prints works).
 */
import * as Y from 'yjs';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import { addAnnotation, getAnnotation, getLabels, listAnnotations, updateAnnotation } from '../docs-model/index.ts';

const url = process.env.ANNOSYNC_URL ?? 'http://127.0.0.1:1234';
const token = process.env.ANNOSYNC_TOKEN ?? '';
const sessionId = process.argv[2];
if (!sessionId) {
  process.stderr.write('usage: offline-rejoin.ts <sessionId>\n');
  process.exit(2);
}

function join(name: string) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/sync`, `session:${sessionId}`, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true, // two providers in one process would otherwise sync without the server
  });
  provider.awareness.setLocalStateField('user', { name });
  const ready = new Promise<void>((resolve) => provider.once('sync', () => resolve()));
  return { doc, provider, ready };
}

/** Resolves once `check` holds, re-checking on every change of the document. */
const until = (doc: Y.Doc, check: () => boolean) =>
  new Promise<void>((resolve) => {
    if (check()) return resolve();
    const onUpdate = () => {
      if (!check()) return;
      doc.off('update', onUpdate);
      resolve();
    };
    doc.on('update', onUpdate);
  });

const alice = join('alice');
const bob = join('bob');
await Promise.all([alice.ready, bob.ready]);
const [label, other] = Object.keys(getLabels(alice.doc));
if (!label) throw new Error('the session has no labels');

const box = addAnnotation(alice.doc, { frame: 0, bbox: [10, 10, 50, 40], label }, { by: 'alice' });
await until(bob.doc, () => getAnnotation(bob.doc, box.id) !== null);

bob.provider.disconnect(); // the network drops
const drawnOffline = addAnnotation(bob.doc, { frame: 1, bbox: [20, 20, 30, 30], label }, { by: 'bob' });
updateAnnotation(bob.doc, box.id, { bbox: [12, 12, 50, 40] }, { by: 'bob' }); // Bob moves the box …
updateAnnotation(alice.doc, box.id, { label: other ?? label }, { by: 'alice' }); // … while Alice relabels it
bob.provider.connect(); // back online

await until(alice.doc, () => getAnnotation(alice.doc, drawnOffline.id) !== null && getAnnotation(alice.doc, box.id)?.bbox[0] === 12);
await until(bob.doc, () => getAnnotation(bob.doc, box.id)?.label === (other ?? label));
const merged = getAnnotation(alice.doc, box.id)!;
process.stdout.write(
  `converged: ${listAnnotations(alice.doc).length} annotations; the box kept Bob's move ${JSON.stringify(merged.bbox)} ` +
    `and Alice's label '${merged.label}'; Bob's offline box ${drawnOffline.id} reached Alice\n`,
);
alice.provider.destroy();
bob.provider.destroy();
process.exit(0);
