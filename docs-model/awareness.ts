/**
 * y-protocols awareness updates, read and written in one place (browser-safe): the server's
 * presence policy, the dashboards' joined/left events and the Redis fan-out all decode with these.
 * An update is `varUint count` then, per client, `varUint clientId, varUint clock, varString json`
 * (`'null'` when the client left); on the socket it travels as `[MessageType.awareness, update]`.
 *
 *   for (const { clientId, json } of readAwarenessUpdate(update)) …   // lazily: a bad tail throws there
 *   const message = encodeAwarenessMessage([{ clientId: 7, clock: 3, json: '{"frame":12}' }])
 *   awarenessMessageOf([entryA, entryB])   // entries encoded once (encodeAwarenessEntry), sent in several messages
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType } from './protocol.ts';

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The state as JSON, `'null'` when the client left. */
  json: string;
}

/** The entries of an awareness update, decoded one at a time (lib0 throws on a truncated one). */
export function* readAwarenessUpdate(update: Uint8Array): Generator<AwarenessEntry> {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = decoding.readVarString(decoder);
    yield { clientId, clock, json };
  }
}

/** The update inside a socket message, or null when the message is not an awareness message. */
export function awarenessUpdateOf(message: Uint8Array): Uint8Array | null {
  const decoder = decoding.createDecoder(message);
  if (decoding.readVarUint(decoder) !== MessageType.awareness) return null;
  return decoding.readVarUint8Array(decoder);
}

/** `[MessageType.awareness, update]` for these entries, ready for the socket. */
export function encodeAwarenessMessage(entries: readonly AwarenessEntry[]): Uint8Array {
  return awarenessMessageOf(entries.map(encodeAwarenessEntry));
}

/**
 * One entry as it is written inside an update, for `awarenessMessageOf`: a batch of presence sent
 * to many peers, each without its own entry, encodes every state once and copies bytes per peer.
 */
export function encodeAwarenessEntry({ clientId, clock, json }: AwarenessEntry): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, clientId);
  encoding.writeVarUint(encoder, clock);
  encoding.writeVarString(encoder, json);
  return encoding.toUint8Array(encoder);
}

/** `[MessageType.awareness, update]` of entries written by `encodeAwarenessEntry`, in one allocation. */
export function awarenessMessageOf(encoded: readonly Uint8Array[]): Uint8Array {
  let updateLength = varUintLength(encoded.length);
  for (const entry of encoded) updateLength += entry.length;
  const out = new Uint8Array(varUintLength(MessageType.awareness) + varUintLength(updateLength) + updateLength);
  let at = writeVarUintAt(out, 0, MessageType.awareness);
  at = writeVarUintAt(out, at, updateLength);
  at = writeVarUintAt(out, at, encoded.length);
  for (const entry of encoded) {
    out.set(entry, at);
    at += entry.length;
  }
  return out;
}

/** Bytes of `n` as lib0's varUint (7 bits a byte, low first). */
function varUintLength(n: number): number {
  let length = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

function writeVarUintAt(out: Uint8Array, at: number, n: number): number {
  while (n > 127) {
    out[at++] = 0x80 | (n & 0x7f);
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
