/**
 * A document's presence changes, sent in batches: every change of a batch in one awareness message
 * per peer, and at most one batch per `PRESENCE_INTERVAL_MS`. The first change after a quiet spell
 * goes out at the end of its event-loop turn; changes that follow within the interval wait for its
 * end and go together.
 *
 * When a crowd reconnects, each returning client's state goes to every other peer of its document,
 * and stock y-websocket clients echo back every state they learn (y-protocols' provider broadcasts
 * all awareness changes, not only its own). Sent one by one, that is n² messages each way per
 * document; batched, about n per batch. Batched per turn only, the returns of a storm still arrived
 * over many turns: 200 clients on 20 documents reconnecting cost 8.8 socket writes per connection
 * (the reference: 4), 4.7 of them presence; with the interval, 5.3. The reference server sends fewer
 * only because it drops a returning client's state until its next renewal (doc-awareness.ts); we
 * give it back at once.
 *
 * A joiner's greeting (every state but its own) goes with the batch too, in place of the changes:
 * one message where the greeting and the next batch were two, each answered by the stock client's
 * echo. Its states go at new clocks (DocAwareness.renewedEntries): a returning client still holds
 * the clocks it saw before it left, and ignored the greeting that repeated them.
 *
 * The interval also bounds what cursors moving at screen rate cost: a document sends at most 20
 * presence messages a second to each peer, however many peers move. Liveblocks' client throttles
 * every message it sends to 100 ms by default (liveblocks.io/docs/api-reference/liveblocks-client,
 * `throttle`).
 *
 *   const presence = new PresenceBatch(awareness, peers, (message) => events.emit(...))
 *   presence.changed(clientIds, fromPeer)   // after awareness.applyFrom / removeOwner / sweep
 *   presence.join(peer)                     // a new peer's greeting, with the next batch
 *   presence.departLater()                  // after removeOwner: a state left for its grace
 *   presence.flush()                        // now, when the document leaves memory
 */
import { binaryFrame } from './frames.ts';
import { awarenessMessageOf } from '../../docs-model/awareness.ts';
import type { AwarenessOwner, DocAwareness } from './doc-awareness.ts';

/** The shortest time between two presence messages of one document (see above). */
export const PRESENCE_INTERVAL_MS = 50;

export interface PresencePeer extends AwarenessOwner {
  /** `frame`, when given, is `message` already framed for the wire (see frames.ts). */
  send(message: Uint8Array, frame?: Buffer): void;
}

export class PresenceBatch<P extends PresencePeer> {
  private readonly awareness: DocAwareness;
  private readonly peers: ReadonlySet<P>;
  private readonly published: (message: Uint8Array) => void;
  /** Client id → the peer that sent the change (null: a removal every peer must get). */
  private changes: Map<number, P | null> | null = null;
  /** Peers that joined since the last batch: they get every state, not the changes. */
  private joiners: Set<P> | null = null;
  /** The send scheduled: at the end of this turn, or when the interval since the last send ends. */
  private pending: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout } | null = null;
  /** When the last batch was sent (performance.now()). */
  private sentAt = -Infinity;
  private readonly intervalMs: number;
  /** Armed while a state is in its grace (doc-awareness.ts): fires when the earliest ends. */
  private departureTimer: NodeJS.Timeout | null = null;

  /** `published` hears each batch sent, whole (the document's event source: other processes, dashboards). */
  constructor(awareness: DocAwareness, peers: ReadonlySet<P>, published: (message: Uint8Array) => void, intervalMs = PRESENCE_INTERVAL_MS) {
    this.awareness = awareness;
    this.peers = peers;
    this.published = published;
    this.intervalMs = intervalMs;
  }

  /**
   * Queues a client's changed state. `from`, the peer that sent it, is not sent its own state back:
   * a y-protocols client would take the server's clock for its own. A removal by the sweep passes
   * null, so that it also reaches the state's owner (which then renews it).
   */
  add(clientId: number, from: P | null): void {
    (this.changes ??= new Map()).set(clientId, from);
    this.schedule();
  }

  /**
   * A new peer's greeting: every state but its own, with the next batch. Sent apart, the greeting
   * and the batch that follows within the interval are two messages, and a stock client answers
   * each with an echo of all it learned (see above). When 200 clients reconnect, the greeting was
   * about a quarter of what the clients' CPU did beyond the reference's (a build that sent none, for
   * the measurement only, bench/reconnect-pair.ts: 194 → 183 ms per round, the reference's 152).
   */
  join(peer: P): void {
    (this.joiners ??= new Set()).add(peer);
    this.schedule();
  }

  /** `add` for each client id DocAwareness said changed (none: null). */
  changed(clientIds: readonly number[] | null, from: P | null): void {
    if (clientIds) for (const clientId of clientIds) this.add(clientId, from);
  }

  /**
   * States left by connections that went (DocAwareness.removeOwner) depart when their grace ends,
   * with the batch then, unless their clients came back meanwhile. One timer per document, only
   * while a state is in a grace.
   */
  departLater(): void {
    if (this.departureTimer !== null) return;
    const at = this.awareness.nextDeparture();
    if (at === null) return;
    this.departureTimer = setTimeout(this.departDue, Math.max(1, at - Date.now()));
  }

  private readonly departDue = (): void => {
    this.departureTimer = null;
    for (const clientId of this.awareness.depart(Date.now())) this.add(clientId, null);
    this.departLater();
  };

  private schedule(): void {
    if (this.pending !== null) return;
    const wait = this.sentAt + this.intervalMs - performance.now();
    this.pending = wait > 0 ? { timeout: setTimeout(this.whenIntervalEnds, wait) } : { immediate: setImmediate(this.send) };
  }

  /**
   * Node runs timers by libuv's loop clock, in whole milliseconds (lib/internal/timers.js,
   * `insert(item, msecs, start = getLibuvNow())`): a timer fires up to ~1.4 ms before `wait` has
   * passed by performance.now() (test/server/presence-batch.test.ts). Then it waits the rest.
   */
  private readonly whenIntervalEnds = (): void => {
    const wait = this.sentAt + this.intervalMs - performance.now();
    if (wait > 0) this.pending = { timeout: setTimeout(this.whenIntervalEnds, wait) };
    else this.send();
  };

  /** Sends what is queued now, with every state still in a grace as gone. */
  flush(): void {
    if (this.departureTimer !== null) clearTimeout(this.departureTimer);
    this.departureTimer = null;
    for (const clientId of this.awareness.depart(Infinity)) (this.changes ??= new Map()).set(clientId, null);
    if (this.pending !== null) {
      if ('timeout' in this.pending) clearTimeout(this.pending.timeout);
      else clearImmediate(this.pending.immediate);
    }
    this.send();
  }

  private readonly send = (): void => {
    const changes = this.changes;
    const joiners = this.joiners;
    this.changes = null;
    this.joiners = null;
    this.pending = null;
    if (joiners !== null) this.greet(joiners);
    if (changes === null) return;
    this.sentAt = performance.now();
    // The current states, each once however often it changed since the last batch, each encoded
    // once: a sender gets the batch without its own entries, copied from the same bytes.
    const encoded = this.awareness.encodeEntries(changes.keys());
    const message = awarenessMessageOf(encoded);
    /** Each sender still connected, with the positions of its own entries in `encoded`. */
    const senders = new Map<P, number[]>();
    let index = 0;
    for (const from of changes.values()) {
      if (from !== null && this.peers.has(from)) {
        const own = senders.get(from);
        if (own) own.push(index);
        else senders.set(from, [index]);
      }
      index++;
    }
    const receivers = [...this.peers].filter((peer) => !senders.has(peer) && !joiners?.has(peer));
    const frame = receivers.length > 1 ? binaryFrame(message) : undefined;
    for (const peer of receivers) peer.send(message, frame);
    for (const [sender, own] of senders) {
      if (joiners?.has(sender)) continue;
      if (own.length < encoded.length) sender.send(awarenessMessageOf(encoded.filter((_, i) => !own.includes(i))));
    }
    this.published(message);
  };

  /** Each joiner still connected gets every current state but its own (nothing, when that is all). */
  private greet(joiners: ReadonlySet<P>): void {
    const present = [...joiners].filter((joiner) => this.peers.has(joiner));
    if (present.length === 0 || this.awareness.size === 0) return;
    const { clientIds, encoded } = this.awareness.renewedEntries();
    for (const joiner of present) {
      // Not yet announced, a joiner may be a client whose state is in its grace: sent back at the
      // server's newer clock, y-protocols would take it for its own state (applyAwarenessUpdate),
      // over any change made while away. So its user's states in a grace are left out.
      const own = this.awareness.clientIdOf(joiner);
      const left = own === undefined ? this.awareness.inGraceOf(joiner) : [own];
      const entries = left.length === 0 ? encoded : encoded.filter((_, i) => !left.includes(clientIds[i]!));
      if (entries.length > 0) joiner.send(awarenessMessageOf(entries));
    }
  }
}
