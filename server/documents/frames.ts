/**
 * WebSocket frames built by us: one frame written to many sockets, or several frames to one socket
 * in one write (server/sync/outbox.ts).
 *
 * A server's frames are never masked (RFC 6455 §5.1), so the bytes of a binary frame are the same
 * for every receiver. `ws.send` builds a header per socket and writes header and payload with a
 * writev; for a broadcast to N peers we build the frame once and hand each socket one buffer. We
 * only do so while `ws` has nothing queued for that socket (its sender is idle: no compression,
 * which we disable, and no blob being read), so frames can never interleave; otherwise we fall
 * back to `ws.send`. Several messages for one socket in one event-loop turn go out as consecutive
 * frames in one buffer, one write instead of one per message. This reaches into two `ws` 8 internals (`_sender._state`, `_socket`), checked
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

/** The socket under `ws` while `ws` has nothing queued and the socket takes writes; else null. */
function idleSocket(ws: WebSocket): Socket | null {
  const internals = ws as unknown as WsInternals;
  const socket = internals._socket;
  return internals._sender?._state === SENDER_IDLE && socket && socket.writable ? socket : null;
}

function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

function writeHeader(target: Buffer, offset: number, length: number): number {
  target[offset] = OPCODE_BINARY_FIN;
  if (length < 126) {
    target[offset + 1] = length;
    return offset + 2;
  }
  if (length < 65536) {
    target[offset + 1] = 126;
    target.writeUInt16BE(length, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

export function binaryFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  frame.set(payload, writeHeader(frame, 0, payload.length));
  return frame;
}

/**
 * One frame whose payload is `prefix` followed by `body`, built in one buffer, and that payload as
 * a view into it: a broadcast's message and its frame for one allocation and one copy of `body`.
 */
export function binaryFrameOf(prefix: readonly number[], body: Uint8Array): { frame: Buffer; payload: Buffer } {
  const length = prefix.length + body.length;
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const start = writeHeader(frame, 0, length);
  for (let i = 0; i < prefix.length; i++) frame[start + i] = prefix[i]!;
  frame.set(body, start + prefix.length);
  return { frame, payload: frame.subarray(start) };
}

/** Several payloads as consecutive binary frames in one buffer: one socket write for all of them. */
export function binaryFrames(payloads: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const payload of payloads) size += headerLength(payload.length) + payload.length;
  const frames = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const payload of payloads) {
    offset = writeHeader(frames, offset, payload.length);
    frames.set(payload, offset);
    offset += payload.length;
  }
  return frames;
}

/**
 * One frame whose payload is `head` followed by `body`, written straight to the socket as two
 * buffers (corked, as `ws` writes its header and payload), so a megabytes-long `body` is never
 * copied: when `ws` has nothing queued. Returns false (writing nothing) otherwise. `written` runs
 * once `body` has been handed to the kernel (or the write failed).
 */
export function writeFrameOfIfIdle(ws: WebSocket, head: readonly number[], body: Uint8Array, written: () => void): boolean {
  const socket = idleSocket(ws);
  if (!socket) return false;
  const length = head.length + body.length;
  const start = Buffer.allocUnsafe(headerLength(length) + head.length);
  let at = writeHeader(start, 0, length);
  for (const byte of head) start[at++] = byte;
  socket.cork();
  socket.write(start);
  socket.write(body, () => written());
  socket.uncork();
  return true;
}

/**
 * Writes complete frames straight to the socket when `ws` has nothing queued; returns false
 * (writing nothing) otherwise, and the caller sends the payloads through `ws.send` instead.
 */
export function writeFramesIfIdle(ws: WebSocket, frames: Buffer): boolean {
  const socket = idleSocket(ws);
  if (!socket) return false;
  socket.write(frames);
  return true;
}
