/**
 * What one socket is sent during one event-loop turn, written at the end of the turn in one go.
 *
 *   const outbox = new Outbox(ws)
 *   outbox.add(message)            // queued; written once the current turn's work is done
 *   outbox.add(update, frame)      // `frame`: the message already framed (documents/frames.ts)
 *   outbox.flush()                 // now, e.g. before ws.close() so the close frame comes last
 *
 * A busy socket reads several messages in one chunk (`ws` emits them synchronously, one after the
 * other), and each can make the server answer or broadcast; a socket write per message is a
 * syscall per message. Collected, one turn's messages to one socket become one buffer of
 * consecutive frames and one write, in the order they were added. A single message is written as
 * it was given (the shared frame of a broadcast, or framed here). When `ws` has something queued
 * (see frames.ts), or the turn's messages are large (no point copying megabytes to save a
 * syscall), they go through `ws.send` one by one instead, still in order.
 *
 * The flush runs in `process.nextTick`, so before any other I/O callback: a message waits for the
 * rest of the current callback, never for another socket's data.
 */
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { binaryFrame, binaryFrames, writeFramesIfIdle } from '../documents/frames.ts';

/** Above this many bytes in one turn, `ws.send` per message instead of one copied buffer. */
const MAX_COALESCED_BYTES = 64 * 1024;

const due: Outbox[] = [];
let flushScheduled = false;

function flushDue(): void {
  flushScheduled = false;
  // Nothing a flush does adds to an outbox, but a box added meanwhile is kept for the next tick.
  const boxes = due.splice(0, due.length);
  for (const box of boxes) {
    try {
      box.flush();
    } catch {
      // A socket that cannot take a write is failing: ws reports that through its 'error' and
      // 'close' events, which close the connection; the other sockets still get their messages.
    }
  }
}

/**
 * Uncorks `socket` once this turn's outboxes are written (a tick queued after the flush: ticks run
 * in order), so what was corked before and what they write go out together.
 */
export function uncorkAfterFlush(socket: Writable): void {
  process.nextTick(uncork, socket);
}

function uncork(socket: Writable): void {
  socket.uncork();
}

export class Outbox {
  private readonly ws: WebSocket;
  /**
   * The turn's first message and its prebuilt frame, if the caller had one; later ones in `more`.
   * Mostly a turn holds one message (a broadcast's): no array is touched then. Emptied by
   * replacing, not by `length = 0`, which V8 runs as a call into its runtime (perf record of the
   * fan-out: ~1 % of the server's CPU for the two arrays this class used to clear per flush).
   */
  private first: Uint8Array | null = null;
  private firstFrame: Buffer | undefined = undefined;
  private more: Uint8Array[] | null = null;
  private bytes = 0;

  constructor(ws: WebSocket) {
    this.ws = ws;
  }

  /** Queues `message` for the end of this turn. */
  add(message: Uint8Array, frame?: Buffer): void {
    if (this.first === null) {
      due.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushDue);
      }
      this.first = message;
      this.firstFrame = frame;
    } else {
      (this.more ??= []).push(message);
    }
    this.bytes += message.length;
  }

  /** Writes what is queued now; a socket that is no longer open gets nothing. */
  flush(): void {
    const first = this.first;
    if (first === null) return;
    const more = this.more;
    try {
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (more === null) {
        // One message with its frame already built costs no copy, however large.
        const built = this.firstFrame;
        if (built !== undefined || this.bytes <= MAX_COALESCED_BYTES) {
          if (writeFramesIfIdle(this.ws, built ?? binaryFrame(first))) return;
        }
        this.ws.send(first, { binary: true });
        return;
      }
      const messages = [first, ...more];
      if (this.bytes <= MAX_COALESCED_BYTES && writeFramesIfIdle(this.ws, binaryFrames(messages))) return;
      for (const message of messages) this.ws.send(message, { binary: true });
    } finally {
      this.discard();
    }
  }

  /** Drops what is queued (the socket closed). */
  discard(): void {
    this.first = null;
    this.firstFrame = undefined;
    this.more = null;
    this.bytes = 0;
  }
}
