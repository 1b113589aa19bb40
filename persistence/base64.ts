/**
 * Stored Yjs bytes travel to and from the database as base64 text (`decode(?, 'base64')` in,
 * `encode(…, 'base64')` out), in update-log.ts and doc-store.ts alike: PGlite converts a
 * bytea parameter to and from hex text in JavaScript one byte at a time (~1 s to write and ~0.3 s
 * to read a 4 MB snapshot, on the event loop), while Buffer's base64 codec takes milliseconds. On
 * Postgres a 4 MB load costs ~10 ms more this way; one query text serves both.
 */

/** Base64 of the bytes, without copying them first. */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The bytes of a base64 column (Postgres wraps lines at 76 characters; Buffer skips the newlines), as a plain Uint8Array. */
export const fromBase64 = (text: string): Uint8Array => {
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
