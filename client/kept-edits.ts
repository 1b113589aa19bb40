/**
 * Edits not yet acknowledged by the server, kept in the browser next to the document
 * (y-indexeddb's key-value store), so the count survives a reload: after it the edits themselves
 * come back with the document, and the count says how many still have to reach the server.
 *
 *   const stop = keepEdits(persistence, acks)     // writes on every change of the count
 *   acks.restore(await keptEdits(persistence))   // on the next page load, before connecting
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { IndexeddbPersistence } from 'y-indexeddb';
import type { DurableAcks } from '../docs-model/durable-acks.ts';

const KEY = 'annosync:unsaved-edits';

/** The store takes an ArrayBuffer: a count, then each update length-prefixed (lib0 encoding). */
const encodeEdits = (updates: readonly Uint8Array[]): ArrayBuffer => {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, updates.length);
  for (const update of updates) encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder).slice().buffer;
};

const decodeEdits = (buffer: ArrayBuffer): Uint8Array[] => {
  const decoder = decoding.createDecoder(new Uint8Array(buffer));
  const count = decoding.readVarUint(decoder);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(decoding.readVarUint8Array(decoder).slice());
  return out;
};

/** The updates kept by the previous page (oldest first); none when nothing was kept. */
export async function keptEdits(persistence: IndexeddbPersistence): Promise<Uint8Array[]> {
  const value: unknown = await persistence.get(KEY);
  if (!(value instanceof ArrayBuffer)) return [];
  try {
    return decodeEdits(value);
  } catch {
    return []; // written by something else: nothing to restore
  }
}

/** Keeps `acks.pendingUpdates()` in the store whenever it changes; returns a function that stops. */
export function keepEdits(persistence: IndexeddbPersistence, acks: DurableAcks): () => void {
  const write = () => void persistence.set(KEY, encodeEdits(acks.pendingUpdates())).catch(() => undefined);
  acks.on('change', write);
  return () => acks.off('change', write);
}
