/**
 * CRC-32 (IEEE 802.3, the zip checksum), table-driven and browser-safe: the importers check every
 * inflated zip entry against its central-directory CRC, so a corrupt archive is refused by name
 * instead of importing damaged labels.
 *
 *   crc32(new TextEncoder().encode('hello')) // 0x3610a686
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export const crc32 = (data: Uint8Array): number => {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
