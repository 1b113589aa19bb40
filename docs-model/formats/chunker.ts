/**
 * Batches small strings into ~64 KiB UTF-8 chunks: few enough chunks to be cheap to write,
 * small enough that nothing grows with the number of frames.
 */
const encoder = new TextEncoder();
export const CHUNK_CHARS = 64 * 1024;

export class TextChunker {
  private parts: string[] = [];
  private size = 0;

  /** Adds text; returns a chunk when enough has gathered. */
  add(text: string): Uint8Array | null {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= CHUNK_CHARS ? this.flush() : null;
  }

  flush(): Uint8Array | null {
    if (!this.size) return null;
    const out = encoder.encode(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    return out;
  }
}

/** Yields a string source as chunks. */
export function* chunked(texts: Iterable<string>): Generator<Uint8Array> {
  const c = new TextChunker();
  for (const t of texts) {
    const out = c.add(t);
    if (out) yield out;
  }
  const rest = c.flush();
  if (rest) yield rest;
}
