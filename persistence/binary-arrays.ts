/**
 * One-dimensional `bytea[]` and `text[]` parameters in Postgres's binary array format, the form
 * `array_recv` reads: a header (one dimension, a has-nulls flag, the element type's OID, the
 * dimension's length and lower bound), then each element as its byte length (-1 for NULL) and its
 * bytes, every integer 4 bytes big-endian (Postgres's src/backend/utils/adt/arrayfuncs.c,
 * `array_recv` and `array_send`). Given as a Buffer, node-pg and PGlite's thread
 * (pglite-statements.ts) both bind it in binary format, so a batch of update-log rows goes in
 * without a text form on either side: no base64 made here, no array literal parsed nor base64
 * decoded by the database (update-log.ts; a 240-row INSERT on PGlite took 3.5 ms of CPU against
 * 5.3 with base64 text arrays, medians of 12 alternated rounds of 40).
 *
 *   knex.raw('insert into t select * from unnest(?::text[], ?::bytea[])', [textArray(names), byteaArray(updates)])
 */
const BYTEA_OID = 17;
const TEXT_OID = 25;
const HEADER_BYTES = 20;

function encodeArray(elementOid: number, elements: ReadonlyArray<Uint8Array | null>): Buffer {
  let size = HEADER_BYTES;
  let hasNulls = 0;
  for (const element of elements) {
    size += 4 + (element?.byteLength ?? 0);
    if (element === null) hasNulls = 1;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(hasNulls, 4);
  out.writeUInt32BE(elementOid, 8);
  out.writeInt32BE(elements.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = HEADER_BYTES;
  for (const element of elements) {
    if (element === null) {
      out.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    out.writeInt32BE(element.byteLength, at);
    out.set(element, at + 4);
    at += 4 + element.byteLength;
  }
  return out;
}

/** A `bytea[]` parameter holding these bytes. */
export const byteaArray = (elements: readonly Uint8Array[]): Buffer => encodeArray(BYTEA_OID, elements);

/** A `text[]` parameter holding these strings, as UTF-8 (the client encoding of both databases); null is SQL NULL. */
export const textArray = (elements: ReadonlyArray<string | null>): Buffer =>
  encodeArray(
    TEXT_OID,
    elements.map((text) => (text === null ? null : Buffer.from(text, 'utf8'))),
  );
