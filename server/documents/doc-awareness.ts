/**
 * Presence on one document, as the server keeps it: the awareness protocol of y-protocols, but
 * lean and strict.
 *
 * - Each connection owns exactly one awareness client id: the first one it announces (a stock
 *   y-websocket client always announces its own state first). It can never change another's state.
 *   Stock clients echo every remote state they learn, and forward other tabs' states through
 *   BroadcastChannel, so foreign entries are dropped silently rather than closing the socket;
 *   claiming an id that another live connection owns is a policy breach (1008).
 * - States are kept as the JSON text they arrived in, checked for size and depth before they are
 *   parsed: the reference server accepts a state nested 100 000 deep and then dies with a stack
 *   overflow when it stringifies it for the next joiner. We never stringify client data.
 * - The clock other clients see is the server's own, per client id, always increasing, so a client
 *   that reconnects with an old clock reappears at once instead of after its next 15 s renewal.
 * - A connection that closes without a word (a dropped network, a socket a new one of the same
 *   user replaces) leaves its state for a grace (`presenceGraceMs`; presence-batch.ts sends the
 *   departure when it ends). A client back within it with the same state is never seen to leave:
 *   nothing goes to the others, where the reference server sends a departure and then drops the
 *   returning state (see the clocks above). A state its client removes (null: a stock provider's
 *   `disconnect()` sends it at the clock it had, `setLocalState(null)` and a closing tab at a newer
 *   one) goes at once: that client said it leaves.
 * - No per-document timer (y-protocols' Awareness keeps a setInterval per document); the registry
 *   sweeps outdated states of all documents with one timer.
 */
import { awarenessMessageOf, encodeAwarenessEntry, readAwarenessUpdate } from '../../docs-model/awareness.ts';
import { PolicyViolationError } from '../base/errors.ts';

/** y-protocols' outdatedTimeout: a state not renewed for this long is removed. */
export const AWARENESS_TIMEOUT_MS = 30_000;

export interface AwarenessOwner {
  /** Who is behind the connection (the token's subject); a client id moves only between one user's connections. */
  readonly principalId: string;
}

interface Entry {
  /** The JSON text of the state, as received; never null here (a null state is a removal). */
  json: string;
  clientClock: number;
  owner: AwarenessOwner | null;
  updatedAt: number;
  /** When its connection went without removing it (Date.now()); null while the connection is there. */
  leftAt: number | null;
}

export interface AwarenessLimits {
  maxAwarenessBytes: number;
  maxAwarenessDepth: number;
  /** How long a state outlives a connection that went without removing it (0: not at all). */
  presenceGraceMs: number;
}

/**
 * Deepest bracket nesting of a JSON text, counted without parsing (so without recursion).
 * Stops early once past `limit`.
 */
export function jsonDepth(json: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export class DocAwareness {
  private readonly entries = new Map<number, Entry>();
  /** Server clock per client id, kept after removal so clocks never go back. */
  private readonly clocks = new Map<number, number>();
  private readonly owners = new Map<AwarenessOwner, number>();
  private readonly limits: AwarenessLimits;

  constructor(limits: AwarenessLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The client id a connection announced, if any. */
  clientIdOf(owner: AwarenessOwner): number | undefined {
    return this.owners.get(owner);
  }

  /**
   * Applies an awareness update sent by `owner`. Returns the client ids whose state changed (null
   * when none), for the presence batch (presence-batch.ts). Throws InvalidMessage-free: decoding
   * errors propagate as lib0 errors for the caller to map; policy breaches throw PolicyViolationError.
   */
  applyFrom(owner: AwarenessOwner, update: Uint8Array, now: number): number[] | null {
    let changed: number[] | null = null;
    for (const { clientId, clock, json } of readAwarenessUpdate(update)) {
      const bound = this.owners.get(owner);
      if (bound === undefined) {
        if (json === 'null') continue; // nothing to own yet
        const entry = this.entries.get(clientId);
        if (entry?.owner && entry.owner !== owner) {
          // A client that reconnects before the server noticed its old socket died announces the
          // same id again: the same user's newest connection takes it over. Anyone else: 1008.
          if (entry.owner.principalId !== owner.principalId) {
            throw new PolicyViolationError(`awareness client ${clientId} belongs to another connection`, 'awareness_not_yours');
          }
          // Its old connection is taken for gone: the state comes back as from a grace.
          this.owners.delete(entry.owner);
          entry.owner = owner;
          entry.leftAt ??= now;
        }
        this.owners.set(owner, clientId);
      } else if (bound !== clientId) {
        continue; // an echo or a BroadcastChannel forward: never applied, never forwarded
      }
      if (this.applyOwn(owner, clientId, clock, json, now)) (changed ??= []).push(clientId);
    }
    return changed;
  }

  /** True when the state changed for the others. */
  private applyOwn(owner: AwarenessOwner, clientId: number, clock: number, json: string, now: number): boolean {
    const entry = this.entries.get(clientId);
    if (json === 'null') {
      if (!entry || clock < entry.clientClock) return false;
      this.remove(clientId);
      return true;
    }
    const returning = entry !== undefined && entry.leftAt !== null;
    if (entry && !returning && clock <= entry.clientClock) return false;
    if (entry && returning && json === entry.json) {
      // Back within its grace, as it was: the others never saw it go.
      entry.leftAt = null;
      entry.owner = owner;
      entry.clientClock = clock;
      entry.updatedAt = now;
      return false;
    }
    if (json.length > this.limits.maxAwarenessBytes) {
      throw new PolicyViolationError(
        `awareness state of ${json.length} bytes exceeds the limit of ${this.limits.maxAwarenessBytes}`,
        'awareness_too_large',
      );
    }
    if (jsonDepth(json, this.limits.maxAwarenessDepth) > this.limits.maxAwarenessDepth) {
      throw new PolicyViolationError(`awareness state nested deeper than ${this.limits.maxAwarenessDepth}`, 'awareness_too_deep');
    }
    // Depth is bounded now, so parsing cannot blow the stack; it proves the text is JSON for the
    // other clients, which JSON.parse it without a try.
    JSON.parse(json);
    this.entries.set(clientId, { json, clientClock: clock, owner, updatedAt: now, leftAt: null });
    this.bumpClock(clientId);
    return true;
  }

  private remove(clientId: number): void {
    this.entries.delete(clientId);
    this.bumpClock(clientId);
  }

  /** The client ids of `owner`'s user whose states are in a grace. */
  inGraceOf(owner: AwarenessOwner): number[] {
    const ids: number[] = [];
    for (const [clientId, entry] of this.entries) {
      if (entry.leftAt !== null && entry.owner?.principalId === owner.principalId) ids.push(clientId);
    }
    return ids;
  }

  /** When the earliest grace ends (Date.now() time), or null when no state is in one. */
  nextDeparture(): number | null {
    let earliest = Infinity;
    for (const entry of this.entries.values()) if (entry.leftAt !== null && entry.leftAt < earliest) earliest = entry.leftAt;
    return earliest === Infinity ? null : earliest + this.limits.presenceGraceMs;
  }

  /** Removes the states whose grace ended by `now` (every one in a grace: `now` Infinity); returns their client ids. */
  depart(now: number): number[] {
    const gone: number[] = [];
    for (const [clientId, entry] of this.entries) {
      if (entry.leftAt !== null && entry.leftAt + this.limits.presenceGraceMs <= now) {
        this.remove(clientId);
        gone.push(clientId);
      }
    }
    return gone;
  }

  private bumpClock(clientId: number): void {
    this.clocks.set(clientId, (this.clocks.get(clientId) ?? 0) + 1);
  }

  /**
   * Presence that another process published (Redis fan-out): its clients' states, applied without
   * an owner here. A client id a local connection owns is never overwritten from outside. States are
   * checked against the same limits (a bad one is skipped, not thrown: no socket to close). Returns
   * the message for the local peers, or null when nothing applied.
   */
  applyRemote(update: Uint8Array, now: number): Uint8Array | null {
    let changed: Array<[clientId: number, json: string | null]> | null = null;
    // The other process's clock is not used: ours is kept per client id here.
    for (const { clientId, json } of readAwarenessUpdate(update)) {
      const entry = this.entries.get(clientId);
      // A state in its grace yields: its client came back on another process.
      if (entry?.owner && entry.leftAt === null) continue;
      if (json === 'null') {
        if (!entry) continue;
        this.entries.delete(clientId);
      } else {
        if (json.length > this.limits.maxAwarenessBytes) continue;
        if (jsonDepth(json, this.limits.maxAwarenessDepth) > this.limits.maxAwarenessDepth) continue;
        // Renewals are applied too: they keep the state alive here and in the local clients.
        this.entries.set(clientId, { json, clientClock: 0, owner: null, updatedAt: now, leftAt: null });
      }
      this.bumpClock(clientId);
      (changed ??= []).push([clientId, json === 'null' ? null : json]);
    }
    return changed ? this.encode(changed) : null;
  }

  /** The states of this process's own connections, as one awareness message (null when none). */
  encodeOwned(): Uint8Array | null {
    const owned: Array<[number, string]> = [];
    for (const [clientId, entry] of this.entries) if (entry.owner) owned.push([clientId, entry.json]);
    return owned.length > 0 ? this.encode(owned) : null;
  }

  /**
   * A connection closed. Its state stays for the grace (`nextDeparture`, `depart`), or, with no
   * grace, goes now: returns its client id then (null: nothing to send now).
   */
  removeOwner(owner: AwarenessOwner, now: number): number | null {
    const clientId = this.owners.get(owner);
    this.owners.delete(owner);
    if (clientId === undefined) return null;
    const entry = this.entries.get(clientId);
    if (entry?.owner !== owner) return null;
    if (this.limits.presenceGraceMs > 0) {
      entry.leftAt ??= now;
      return null;
    }
    this.remove(clientId);
    return clientId;
  }

  /** Removes states not renewed within the timeout; returns their client ids (null: none). */
  sweep(now: number): number[] | null {
    let removed: number[] | null = null;
    for (const [clientId, entry] of this.entries) {
      if (now - entry.updatedAt >= AWARENESS_TIMEOUT_MS) {
        this.remove(clientId);
        (removed ??= []).push(clientId);
      }
    }
    return removed;
  }

  /** Each current state of `clientIds` as it is written in an update (`awarenessMessageOf` sends them). */
  encodeEntries(clientIds: Iterable<number>): Uint8Array[] {
    return Array.from(clientIds, (clientId) => this.encodeEntry(clientId, this.entries.get(clientId)?.json ?? null));
  }

  /**
   * Every current state at a new clock, for a joiner's greeting (with the client ids, in order).
   * A stock client that comes back keeps the clocks it saw before it left, and y-protocols ignores
   * a state at a clock it has seen (`applyAwarenessUpdate`: `currClock < clock`), so a greeting at
   * the old clocks would show it no one who stayed until their next renewal, 15 s later. The peers
   * that keep the older clocks take the next change all the same: it is newer still.
   */
  renewedEntries(): { clientIds: number[]; encoded: Uint8Array[] } {
    const clientIds = [...this.entries.keys()];
    for (const clientId of clientIds) this.bumpClock(clientId);
    return { clientIds, encoded: this.encodeEntries(clientIds) };
  }

  /** Current states, parsed (for REST participants and dashboards). */
  states(): Array<{ clientId: number; state: unknown; updatedAt: number }> {
    return Array.from(this.entries, ([clientId, entry]) => ({
      clientId,
      state: JSON.parse(entry.json) as unknown,
      updatedAt: entry.updatedAt,
    }));
  }

  private encode(changes: Array<[clientId: number, json: string | null]>): Uint8Array {
    return awarenessMessageOf(changes.map(([clientId, json]) => this.encodeEntry(clientId, json)));
  }

  /** One client's entry at the server's clock; a null state is a removal. */
  private encodeEntry(clientId: number, json: string | null): Uint8Array {
    return encodeAwarenessEntry({ clientId, clock: this.clocks.get(clientId) ?? 0, json: json ?? 'null' });
  }
}
