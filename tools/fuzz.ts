/**
 * Message fuzzing against a running server: valid y-websocket messages (sync step 1 and 2,
 * updates, awareness, query-awareness), mutated by a seeded generator, sent over real sockets.
 * After each message a valid sync step 1 follows; its answer (sync step 2) proves the connection
 * survived, a close code proves it was refused. Used by the bounded test in `npm test` and by the
 * long `npm run fuzz`.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';

/** mulberry32: small, fast, good enough, and replayable from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const frame = (write: (e: encoding.Encoder) => void) => {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
};

/** Valid messages a stock client could send, to mutate from. */
export function seedMessages(): Uint8Array[] {
  const doc = new Y.Doc();
  const annotations = doc.getMap<Y.Map<unknown>>('annotations');
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < 3; i++) {
    const a = new Y.Map<unknown>();
    a.set('id', `a${i}`);
    a.set('frame', i);
    a.set('bbox', [i, i, 10, 10]);
    a.set('label', 'car');
    annotations.set(`a${i}`, a);
  }
  const sync = (type: number, payload: Uint8Array) =>
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, type);
      encoding.writeVarUint8Array(e, payload);
    });
  const awareness = (clientId: number, clock: number, json: string) =>
    frame((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(
        e,
        frame((inner) => {
          encoding.writeVarUint(inner, 1);
          encoding.writeVarUint(inner, clientId);
          encoding.writeVarUint(inner, clock);
          encoding.writeVarString(inner, json);
        }),
      );
    });
  return [
    sync(0, Y.encodeStateVector(doc)),
    sync(1, Y.encodeStateAsUpdate(doc)),
    ...updates.map((u) => sync(2, u)),
    awareness(12345, 1, JSON.stringify({ user: { name: 'fuzz', frame: 3 }, cursor: [1, 2] })),
    new Uint8Array([3]),
  ];
}

/** One mutation of a valid message: flips, inserts, deletes, truncations, huge varints, splices. */
export function mutate(message: Uint8Array, random: () => number, pool: Uint8Array[]): Uint8Array {
  const bytes = Array.from(message);
  const at = () => Math.floor(random() * (bytes.length + 1));
  const byte = () => Math.floor(random() * 256);
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    switch (Math.floor(random() * 8)) {
      case 0:
        if (bytes.length) bytes[Math.min(bytes.length - 1, at())] = byte();
        break;
      case 1:
        bytes.splice(at(), 0, ...Array.from({ length: 1 + Math.floor(random() * 8) }, byte));
        break;
      case 2:
        bytes.splice(at(), 1 + Math.floor(random() * 8));
        break;
      case 3:
        bytes.length = Math.floor(random() * bytes.length);
        break;
      case 4: // a varint with the continuation bit run long: above 2^53, or a huge length
        bytes.splice(at(), 0, ...Array.from({ length: 5 + Math.floor(random() * 6) }, () => 0x80 | byte()), byte() & 0x7f);
        break;
      case 5: {
        const other = pool[Math.floor(random() * pool.length)]!;
        bytes.splice(at(), 0, ...other.subarray(0, Math.floor(random() * other.length)));
        break;
      }
      case 6:
        if (bytes.length) {
          const i = Math.min(bytes.length - 1, at());
          bytes[i] = (bytes[i] ?? 0) ^ (1 << Math.floor(random() * 8));
        }
        break;
      default:
        bytes.splice(at(), 0, ...bytes.slice(at(), at()));
    }
  }
  return new Uint8Array(bytes);
}

export interface FuzzResult {
  tried: number;
  survived: number;
  closes: Record<number, number>;
}

/** Close codes of a socket refused at the door (auth, document name), before any protocol message is read. */
export const REFUSED_AT_AUTH = [4400, 4401, 4403, 4404] as const;

/**
 * How many messages got past the socket's auth: a fuzz run whose messages are refused at the door
 * tests nothing, so callers fail when this is under half of what they sent.
 */
export function pastAuth(result: FuzzResult): number {
  return result.tried - REFUSED_AT_AUTH.reduce((sum, code) => sum + (result.closes[code] ?? 0), 0);
}

/** Sends `count` mutated messages over `parallel` sockets; resolves with what happened. */
export async function fuzzServer(opts: {
  url: (docName: string) => string;
  docName: string;
  seed: number;
  count: number;
  parallel: number;
}): Promise<FuzzResult> {
  const random = seededRandom(opts.seed);
  const pool = seedMessages();
  const probe = pool[0]!;
  const result: FuzzResult = { tried: 0, survived: 0, closes: {} };
  let next = 0;
  const messages: Uint8Array[] = [];
  for (let i = 0; i < opts.count; i++) messages.push(mutate(pool[Math.floor(random() * pool.length)]!, random, pool));

  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(opts.url(opts.docName));
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  /** Sends one message then the probe; true when the probe was answered (the socket lives on). */
  const tryOne = (ws: WebSocket, message: Uint8Array) =>
    new Promise<boolean>((resolve) => {
      const onMessage = (data: Buffer) => {
        // Sync step 2 (0, 1, …) answers our probe; anything else (greeting, awareness) is not it.
        if (data[0] === 0 && data[1] === 1) finish(true);
      };
      const onClose = (code: number) => {
        result.closes[code] = (result.closes[code] ?? 0) + 1;
        finish(false);
      };
      const finish = (alive: boolean) => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve(alive);
      };
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.on('error', () => undefined);
      ws.send(message);
      ws.send(probe);
    });

  const worker = async () => {
    let ws: WebSocket | null = null;
    while (next < messages.length) {
      const message = messages[next++]!;
      ws ??= await open();
      // Skip the greeting (our probe's answer is what we wait for).
      result.tried++;
      if (await tryOne(ws, message)) result.survived++;
      else ws = null;
    }
    ws?.close();
  };
  await Promise.all(Array.from({ length: opts.parallel }, worker));
  return result;
}
