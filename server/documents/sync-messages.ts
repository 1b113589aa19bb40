/**
 * The y-websocket sync messages the server builds itself, prefix and payload in one allocation
 * (lib0's encoder copies a large payload into a chunk and the chunks into the result again).
 *
 *   encodeSyncMessage(SyncMessageType.step1, stateVector)   // the message
 *   syncUpdateFrame(update)                                  // the message framed for the wire, and a view of it
 */
import { binaryFrameOf } from './frames.ts';
import { MessageType, SyncMessageType } from '../../docs-model/protocol.ts';

export function encodeSyncMessage(type: number, payload: Uint8Array): Uint8Array {
  // One allocation and one copy: lib0's encoder copies a large payload into a chunk and the chunks
  // into the result again (~25 ms for a 4.5 MB sync step 2 on a cold process).
  const prefix = syncPrefix(type, payload.length);
  const message = new Uint8Array(prefix.length + payload.length);
  message.set(prefix);
  message.set(payload, prefix.length);
  return message;
}

/** The bytes before a sync message's payload: message type, sync sub-type, the payload's varUint length. */
export function syncPrefix(type: number, payloadLength: number): number[] {
  const prefix: number[] = [MessageType.sync, type];
  let length = payloadLength;
  while (length > 0x7f) {
    prefix.push(0x80 | (length & 0x7f));
    length = Math.floor(length / 0x80);
  }
  prefix.push(length);
  return prefix;
}

/**
 * A sync update message for `update`, framed for the wire: what `encodeSyncMessage(update, …)`
 * encodes (type, sub-type, varUint length, bytes), written straight into the frame every receiver
 * shares instead of into an encoder, copied out, then copied again into a frame.
 */
export function syncUpdateFrame(update: Uint8Array): { frame: Buffer; payload: Buffer } {
  return binaryFrameOf(syncPrefix(SyncMessageType.update, update.length), update);
}
