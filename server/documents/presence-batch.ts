/**
 * A document's presence changes, sent once per event-loop turn: every change of a turn in one
 * awareness message per peer.
 *
 * When a crowd reconnects, each returning client's state goes to every other peer of its document,
 * and stock y-websocket clients echo back every state they learn (y-protocols' provider broadcasts
 * all awareness changes, not only its own). Sent one by one, that is n² messages each way per
 * document; batched, about n. The reference server sends fewer only because it drops a returning
 * client's state until its next renewal (doc-awareness.ts); we give it back at once.
 *
 *   const presence = new PresenceBatch(awareness, peers, (message) => events.emit(...))
 *   presence.add(clientId, fromPeer)   // after awareness.applyFrom / removeOwner / sweep
 *   presence.flush()                   // now, when the document leaves memory
 */
import { binaryFrame } from './frames.ts';
import type { DocAwareness } from './doc-awareness.ts';

export interface PresencePeer {
  /** `frame`, when given, is `message` already framed for the wire (see frames.ts). */
  send(message: Uint8Array, frame?: Buffer): void;
}

export class PresenceBatch<P extends PresencePeer> {
  private readonly awareness: DocAwareness;
  private readonly peers: ReadonlySet<P>;
  private readonly published: (message: Uint8Array) => void;
  /** Client id → the peer that sent the change (null: a removal every peer must get). */
  private changes: Map<number, P | null> | null = null;
  private pending: NodeJS.Immediate | null = null;

  /** `published` hears each batch sent, whole (the document's event source: other processes, dashboards). */
  constructor(awareness: DocAwareness, peers: ReadonlySet<P>, published: (message: Uint8Array) => void) {
    this.awareness = awareness;
    this.peers = peers;
    this.published = published;
  }

  /**
   * Queues a client's changed state. `from`, the peer that sent it, is not sent its own state back:
   * a y-protocols client would take the server's clock for its own. A removal by the sweep passes
   * null, so that it also reaches the state's owner (which then renews it).
   */
  add(clientId: number, from: P | null): void {
    (this.changes ??= new Map()).set(clientId, from);
    this.pending ??= setImmediate(this.send);
  }

  /** Sends what is queued now. */
  flush(): void {
    if (this.pending) clearImmediate(this.pending);
    this.send();
  }

  private readonly send = (): void => {
    const changes = this.changes;
    this.changes = null;
    this.pending = null;
    if (changes === null) return;
    // The current states, each once however often it changed this turn.
    const message = this.awareness.encodeChanges(changes.keys());
    const senders = new Set<P>();
    for (const from of changes.values()) if (from !== null && this.peers.has(from)) senders.add(from);
    const frame = this.peers.size - senders.size > 1 ? binaryFrame(message) : undefined;
    for (const peer of this.peers) if (!senders.has(peer)) peer.send(message, frame);
    for (const sender of senders) {
      const others = Array.from(changes).flatMap(([clientId, from]) => (from === sender ? [] : [clientId]));
      if (others.length > 0) sender.send(this.awareness.encodeChanges(others));
    }
    this.published(message);
  };
}
