/**
 * Yjs updates as raw-socket tests send and read them: one client's updates each setting one key
 * of the map `m`, and the payloads of the sync `update` messages a socket received.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';

/** The payloads of the sync `update` messages in `messages`, in order. */
export function updatesIn(messages: readonly Uint8Array[]): Uint8Array[] {
  return messages
    .filter((m) => m[0] === 0 && m[1] === 2)
    .map((m) => {
      const decoder = decoding.createDecoder(m);
      decoding.readVarUint(decoder);
      decoding.readVarUint(decoder);
      return decoding.readVarUint8Array(decoder);
    });
}

/** One client's consecutive updates, each setting one key of the map `m` (to the key in capitals). */
export function updatesOf(clientId: number, keys: string[], value: (key: string) => unknown = (key) => key.toUpperCase()): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (const key of keys) doc.getMap('m').set(key, value(key));
  return updates;
}
