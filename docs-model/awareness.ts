/**
 * y-protocols awareness updates, read and written in one place (browser-safe): the server's
 * presence policy, the dashboards' joined/left events and the Redis fan-out all decode with these.
 * An update is `varUint count` then, per client, `varUint clientId, varUint clock, varString json`
 * (`'null'` when the client left); on the socket it travels as `[MessageType.awareness, update]`.
 *
 *   for (const { clientId, json } of readAwarenessUpdate(update)) …   // lazily: a bad tail throws there
 *   const message = encodeAwarenessMessage([{ clientId: 7, clock: 3, json: '{"frame":12}' }])
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
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, entries.length);
  for (const { clientId, clock, json } of entries) {
    encoding.writeVarUint(inner, clientId);
    encoding.writeVarUint(inner, clock);
    encoding.writeVarString(inner, json);
  }
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner));
  return encoding.toUint8Array(encoder);
}
