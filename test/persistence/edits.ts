/**
 * Seeded Yjs edit histories for the persistence tests: a document edited by a few simulated
 * clients (inserts, deletes, map writes), recorded as the updates it emitted, plus a way to
 * compare a document rebuilt from storage with the original.
 */
import * as Y from 'yjs';

export interface EditHistory {
  doc: Y.Doc;
  updates: Uint8Array[];
  seed: number;
}

/** A seed from SEED or the clock; tests put it in their failure messages so a run can be replayed. */
export function pickSeed(): number {
  return process.env.SEED ? Number(process.env.SEED) : Date.now() % 2 ** 31;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` updates from three clients editing one text and one map, deletions included. */
export function editHistory(seed: number, count: number): EditHistory {
  const random = mulberry32(seed);
  const clients = [0, 1, 2].map((i) => {
    const doc = new Y.Doc();
    doc.clientID = 1000 + i;
    return doc;
  });
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const client = clients[Math.floor(random() * clients.length)]!;
    const before = Y.encodeStateVector(client);
    const text = client.getText('t');
    const roll = random();
    if (roll < 0.5 || text.length === 0) {
      text.insert(Math.floor(random() * (text.length + 1)), `w${i} `);
    } else if (roll < 0.7) {
      const at = Math.floor(random() * text.length);
      text.delete(at, Math.min(3, text.length - at));
    } else {
      client.getMap('m').set(`k${Math.floor(random() * 5)}`, { i, by: client.clientID });
    }
    const update = Y.encodeStateAsUpdate(client, before);
    updates.push(update);
    Y.applyUpdate(doc, update);
    // Clients hear each other now and then, so later edits depend on earlier ones.
    if (random() < 0.3) for (const other of clients) if (other !== client) Y.applyUpdate(other, update);
  }
  return { doc, updates, seed };
}

export function rebuild(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/** The visible content and the state vector: equal means nothing was lost. */
export function contentOf(doc: Y.Doc): { text: string; map: unknown; stateVector: Array<[number, number]> } {
  return {
    text: doc.getText('t').toString(),
    map: doc.getMap('m').toJSON(),
    stateVector: [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort((a, b) => a[0] - b[0]),
  };
}
