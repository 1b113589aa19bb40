/**
 * A document's updates of one event-loop turn, sent to its peers as one: a peer gets one sync
 * message holding everything the turn brought it, not one per update.
 *
 * A busy writer's updates reach the server several in one read (`ws` emits them one after the
 * other in one callback): a box dragged, or a client catching up after a hiccup. Sent one by one,
 * every receiver decodes and applies each in its own transaction, and its observers run once per
 * update; merged (Y.mergeUpdates), the receiver applies one update and its observers run once.
 * The reference server sends each update as it comes. The server's own cost is one merge per turn
 * and document, shared by every receiver, and one frame instead of several.
 *
 * Only updates of one origin merge (a receiver must not get its own update back, and each peer
 * would otherwise need its own merge); a turn whose updates came from several peers sends each as
 * it was. So do large ones (an import's megabytes): merging re-encodes them, and they come alone.
 *
 *   const batch = new UpdateBatch((payload, except, frame) => doc.broadcast(payload, except, frame))
 *   batch.add(update, fromPeer)     // sent once the current callback's work is done
 *   batch.flush()                   // now (the document leaves memory)
 */
import * as Y from 'yjs';
import { syncUpdateFrame } from './sync-messages.ts';
import type { ConnectionOrigin } from './origins.ts';

/** Merging re-encodes: past this many bytes in one turn, the updates go as they came. */
const MAX_MERGED_BYTES = 64 * 1024;

type Send = (payload: Uint8Array, except: ConnectionOrigin | undefined, frame: Buffer) => void;

const due: UpdateBatch[] = [];
let flushScheduled = false;

/**
 * Runs in `process.nextTick`: after the callback that received the updates, before any other I/O,
 * and before the outboxes it fills are written (server/sync/outbox.ts schedules theirs when the
 * first message is added, so after this).
 */
function flushDue(): void {
  flushScheduled = false;
  for (const batch of due.splice(0, due.length)) batch.flush();
}

export class UpdateBatch {
  private readonly send: Send;
  /** This turn's updates, oldest first, and where each came from (`origins` from the second on). */
  private updates: Uint8Array[] | null = null;
  private origins: Array<ConnectionOrigin | undefined> | null = null;
  /** The origin of the turn's first update. */
  private first: ConnectionOrigin | undefined = undefined;
  /** Updates of more than one origin this turn: each goes as it came. */
  private mixed = false;
  private bytes = 0;

  constructor(send: Send) {
    this.send = send;
  }

  add(update: Uint8Array, from: ConnectionOrigin | undefined): void {
    if (this.updates === null) {
      this.updates = [update];
      this.origins = null;
      this.mixed = false;
      this.bytes = update.length;
      this.first = from;
      due.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushDue);
      }
      return;
    }
    (this.origins ??= [this.first]).push(from);
    this.updates.push(update);
    this.bytes += update.length;
    if (from !== this.first) this.mixed = true;
  }

  /** Sends what this turn brought, now. */
  flush(): void {
    const updates = this.updates;
    if (updates === null) return;
    const origins = this.origins;
    this.updates = null;
    this.origins = null;
    if (origins === null) this.sendOne(updates[0]!, this.first);
    else if (!this.mixed && this.bytes <= MAX_MERGED_BYTES) this.sendOne(Y.mergeUpdates(updates), this.first);
    else for (let i = 0; i < updates.length; i++) this.sendOne(updates[i]!, origins[i]);
    this.first = undefined;
  }

  private sendOne(update: Uint8Array, from: ConnectionOrigin | undefined): void {
    const { frame, payload } = syncUpdateFrame(update);
    this.send(payload, from, frame);
  }
}
