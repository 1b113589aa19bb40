/**
 * One WebSocket frame, built once, written to many sockets.
 *
 * A server's frames are never masked (RFC 6455 §5.1), so the bytes of a binary frame are the same
 * for every receiver. `ws.send` builds a header per socket and writes header and payload with a
 * writev; for a broadcast to N peers we build the frame once and hand each socket one buffer. We
 * only do so while `ws` has nothing queued for that socket (its sender is idle: no compression,
 * which we disable, and no blob being read), so frames can never interleave; otherwise we fall
 * back to `ws.send`. This reaches into two `ws` 8 internals (`_sender._state`, `_socket`), checked
 * at runtime and pinned by the broadcast tests.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const OPCODE_BINARY_FIN = 0x82;
/** `ws`'s Sender state when nothing is queued (lib/sender.js DEFAULT). */
const SENDER_IDLE = 0;

interface WsInternals {
  _sender?: { _state?: number } | null;
  _socket?: Socket | null;
}

export function binaryFrame(payload: Uint8Array): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = OPCODE_BINARY_FIN;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** Writes a prebuilt frame when `ws` is idle, else sends the payload the ordinary way. */
export function sendPrebuilt(ws: WebSocket, frame: Buffer, payload: Uint8Array): void {
  const internals = ws as unknown as WsInternals;
  const socket = internals._socket;
  if (internals._sender?._state === SENDER_IDLE && socket && socket.writable) {
    socket.write(frame);
  } else {
    ws.send(payload, { binary: true });
  }
}
