/**
 * A staged change's updates joined into one without decoding them. A large server write goes a
 * step per transaction (staged-change.ts), and its steps' updates leave as one. `Y.mergeUpdates`
 * decodes every struct and encodes it again: for a bulk create of 10 000 annotations (~160 000
 * structs, 4.4 MB) ~0.4 s of CPU in the merge worker while the request waits. But when every step
 * only added structs of one client (the document's own), at the clocks where the step before
 * ended, and deleted nothing, each step's update (Yjs's V1 encoding of its transaction:
 * `writeUpdateMessageFromTransaction` in yjs/src/utils/encoding.js) is
 *
 *   1 · structCount · client · firstClock · structs… · 0 (an empty delete set)
 *
 * and V1 structs carry no state from one to the next (their ids follow from the section's first
 * clock and each one's length), so the steps' structs, one after the other under one header,
 * are the same update. Anything else (a step that deleted, another client's structs, a gap in the
 * clocks) breaks the chain, and the change is merged by Yjs as before.
 *
 *   const held = new HeldBack(origin, ydoc.clientID, steps.length)   // LiveDocument.holdBack
 *   held.add(update, transaction)                        // from Yjs's 'update' event, per step
 *   held.take()   // { updates, joined }: joined is them as one, or null (merge with Yjs then)
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type * as Y from 'yjs';

/** Room left before the structs for the header: four varuints (lib0: 7 bits a byte), up to 2^35 each. */
const HEAD_ROOM = 1 + 5 + 5 + 5;

export class UpdateChain {
  private readonly client: number;
  private readonly expectedSteps: number;
  /** The structs so far, from HEAD_ROOM to `end`, copied in as each step comes. */
  private buffer: Uint8Array | null = null;
  private end = HEAD_ROOM;
  private steps = 0;
  private structs = 0;
  private firstClock = -1;
  private nextClock = -1;
  private broken = false;

  /**
   * `client`: the only writer the chain takes (the document's own client id). `expectedSteps`: how
   * many steps the change has, so the buffer is sized once, after the first, and filled a step at a
   * time: joined at the end in one go, a 4 MB buffer cost ~10-14 ms of the event loop (its page
   * faults, on this project's machines).
   */
  constructor(client: number, expectedSteps = 0) {
    this.client = client;
    this.expectedSteps = expectedSteps;
  }

  /** The next step's update and the transaction that made it (Yjs's 'update' event gives both). */
  add(update: Uint8Array, transaction: Y.Transaction | undefined): void {
    if (this.broken) return;
    const body = transaction === undefined ? null : this.bodyOf(update, transaction);
    if (body === null) {
      this.broken = true;
      this.buffer = null;
      return;
    }
    this.steps++;
    const need = this.end + body.length + 1;
    if (this.buffer === null || need > this.buffer.length) {
      // The steps still to come at this one's size and a quarter more; twice as much when unknown.
      const ahead = this.expectedSteps > this.steps ? (this.expectedSteps - this.steps) * body.length * 1.25 : need;
      const grown = new Uint8Array(Math.ceil(need + ahead));
      if (this.buffer !== null) grown.set(this.buffer.subarray(0, this.end));
      this.buffer = grown;
    }
    this.buffer.set(body, this.end);
    this.end += body.length;
  }

  /** The steps' updates as one; null when they do not chain (merge them with Yjs then). */
  join(): Uint8Array | null {
    if (this.broken || this.buffer === null) return null;
    const header = encoding.createEncoder();
    encoding.writeVarUint(header, 1);
    encoding.writeVarUint(header, this.structs);
    encoding.writeVarUint(header, this.client);
    encoding.writeVarUint(header, this.firstClock);
    const head = encoding.toUint8Array(header);
    if (head.length > HEAD_ROOM) return null;
    const start = HEAD_ROOM - head.length;
    this.buffer.set(head, start);
    this.buffer[this.end] = 0; // the empty delete set
    return this.buffer.subarray(start, this.end + 1);
  }

  /** The update's structs, or null when it does not continue the chain. */
  private bodyOf(update: Uint8Array, transaction: Y.Transaction): Uint8Array | null {
    if (transaction.deleteSet.clients.size > 0 || update[update.length - 1] !== 0) return null;
    // The update holds the structs of every client whose clock moved: it must be ours alone.
    const before = transaction.beforeState.get(this.client) ?? 0;
    const after = transaction.afterState.get(this.client) ?? 0;
    if (after <= before || (this.nextClock >= 0 && before !== this.nextClock)) return null;
    const decoder = decoding.createDecoder(update);
    if (decoding.readVarUint(decoder) !== 1) return null;
    const count = decoding.readVarUint(decoder);
    // Follows from the transaction's states; a mismatch would be an encoding this file does not know.
    if (decoding.readVarUint(decoder) !== this.client || decoding.readVarUint(decoder) !== before) return null;
    if (this.firstClock < 0) this.firstClock = before;
    this.nextClock = after;
    this.structs += count;
    return update.subarray(decoder.pos, update.length - 1);
  }
}

export interface HeldBackUpdates {
  updates: Uint8Array[];
  /** Several updates that chain, as one; null for fewer than two, or when they do not chain. */
  joined: Uint8Array | null;
}

/** A staged change's updates, held back until it ends (LiveDocument.holdBack). */
export class HeldBack {
  readonly origin: unknown;
  private readonly updates: Uint8Array[] = [];
  private readonly chain: UpdateChain;

  constructor(origin: unknown, client: number, expectedSteps = 0) {
    this.origin = origin;
    this.chain = new UpdateChain(client, expectedSteps);
  }

  add(update: Uint8Array, transaction: Y.Transaction | undefined): void {
    this.updates.push(update);
    this.chain.add(update, transaction);
  }

  take(): HeldBackUpdates {
    return { updates: this.updates, joined: this.updates.length > 1 ? this.chain.join() : null };
  }
}
