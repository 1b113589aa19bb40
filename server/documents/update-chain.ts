/**
 * A staged change's updates joined into one without decoding them. A large server write goes a
 * step per transaction (staged-change.ts), and its steps' updates leave as one. `Y.mergeUpdates`
 * decodes every struct and encodes it again: for a bulk create of 10 000 annotations (~160 000
 * structs, 4.4 MB) 0.2-0.4 s of CPU in the merge worker while the request waits. But when the
 * steps added structs of one client only (the document's own), each at the clock where the step
 * before ended, each step's update (Yjs's V1 encoding of its transaction:
 * `writeUpdateMessageFromTransaction` in yjs/src/utils/encoding.js) is
 *
 *   1 · structCount · client · firstClock · structs… · its delete set   (0 · delete set: it added none)
 *
 * and V1 structs carry no state from one to the next (their ids follow from the section's first
 * clock and each one's length): the steps' structs one after the other under one header, then the
 * steps' delete sets merged (`Y.mergeDeleteSets`, written as yjs's `writeDeleteSet` writes one),
 * are the update Y.mergeUpdates makes, struct for struct (byte for byte when no struct has an
 * origin: re-encoding, Yjs drops the flag of a parent key that decoders ignore then). Anything else
 * (another client's structs, a gap in the document's own clocks, a delete set not where it should
 * be) breaks the chain, and the change is merged by Yjs.
 *
 *   const held = new HeldBack(origin, ydoc.clientID, steps.length)   // LiveDocument.holdBack
 *   held.add(update, transaction)                        // from Yjs's 'update' event, per step
 *   held.take()   // { updates, joined }: joined is them as one, or null (merge with Yjs then)
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** Room left before the structs for the header: four varuints (lib0: 7 bits a byte), up to 2^35 each. */
const HEAD_ROOM = 1 + 5 + 5 + 5;
const NOTHING = new Uint8Array(0);
const EMPTY_DELETE_SET = Uint8Array.of(0);

type DeleteSet = Y.Transaction['deleteSet'];

/** A delete set as V1 bytes, in the order yjs's `writeDeleteSet` writes it (clients by id, descending). */
function deleteSetBytes(ds: DeleteSet): Uint8Array {
  if (ds.clients.size === 0) return EMPTY_DELETE_SET;
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, ds.clients.size);
  for (const [client, items] of [...ds.clients].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, items.length);
    for (const item of items) {
      encoding.writeVarUint(encoder, item.clock);
      encoding.writeVarUint(encoder, item.len);
    }
  }
  return encoding.toUint8Array(encoder);
}

const endsWith = (bytes: Uint8Array, tail: Uint8Array): boolean =>
  tail.length <= bytes.length && Buffer.from(bytes.buffer, bytes.byteOffset + bytes.length - tail.length, tail.length).equals(tail);

class UpdateChain {
  private readonly client: number;
  private readonly expectedSteps: number;
  /** The structs so far, from HEAD_ROOM to `end`, copied in as each step comes. */
  private buffer: Uint8Array | null = null;
  private end = HEAD_ROOM;
  private steps = 0;
  private structs = 0;
  private firstClock = -1;
  private nextClock = -1;
  /** The steps' delete sets that hold anything, and their bytes in all (room kept after the structs). */
  private readonly deletes: DeleteSet[] = [];
  private deleteBytes = 1;
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
      this.deletes.length = 0;
      return;
    }
    this.steps++;
    if (body.length === 0) return;
    const need = this.end + body.length + this.deleteBytes;
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
    if (this.broken || this.steps === 0) return null;
    const deletes = this.deletes.length === 0 ? EMPTY_DELETE_SET : deleteSetBytes(Y.mergeDeleteSets(this.deletes));
    if (this.buffer === null) {
      // Every step only deleted: no structs, then the delete set.
      const joined = new Uint8Array(1 + deletes.length);
      joined.set(deletes, 1);
      return joined;
    }
    const header = encoding.createEncoder();
    encoding.writeVarUint(header, 1);
    encoding.writeVarUint(header, this.structs);
    encoding.writeVarUint(header, this.client);
    encoding.writeVarUint(header, this.firstClock);
    const head = encoding.toUint8Array(header);
    if (head.length > HEAD_ROOM) return null;
    if (this.end + deletes.length > this.buffer.length) {
      const grown = new Uint8Array(this.end + deletes.length);
      grown.set(this.buffer.subarray(0, this.end));
      this.buffer = grown;
    }
    const start = HEAD_ROOM - head.length;
    this.buffer.set(head, start);
    this.buffer.set(deletes, this.end);
    return this.buffer.subarray(start, this.end + deletes.length);
  }

  /** The update's structs (none for a step that only deleted), or null when it does not continue the chain. */
  private bodyOf(update: Uint8Array, transaction: Y.Transaction): Uint8Array | null {
    const deletes = deleteSetBytes(transaction.deleteSet);
    if (!endsWith(update, deletes)) return null;
    const structsEnd = update.length - deletes.length;
    // The update holds the structs of every client whose clock moved: it must be ours alone.
    const before = transaction.beforeState.get(this.client) ?? 0;
    const after = transaction.afterState.get(this.client) ?? 0;
    if (after < before || (this.nextClock >= 0 && before !== this.nextClock)) return null;
    const decoder = decoding.createDecoder(update.subarray(0, structsEnd));
    const clients = decoding.readVarUint(decoder);
    let body: Uint8Array;
    if (clients === 0 && after === before && decoder.pos === structsEnd) {
      body = NOTHING;
    } else {
      if (clients !== 1 || after === before) return null;
      const count = decoding.readVarUint(decoder);
      // Follows from the transaction's states; a mismatch would be an encoding this file does not know.
      if (decoding.readVarUint(decoder) !== this.client || decoding.readVarUint(decoder) !== before) return null;
      if (this.firstClock < 0) this.firstClock = before;
      this.structs += count;
      body = update.subarray(decoder.pos, structsEnd);
    }
    this.nextClock = after;
    if (transaction.deleteSet.clients.size > 0) {
      this.deletes.push(transaction.deleteSet);
      this.deleteBytes += deletes.length;
    }
    return body;
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
