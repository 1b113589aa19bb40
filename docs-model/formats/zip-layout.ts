/**
 * Where each entry of a zip really lies, checked before one byte is inflated. A well-formed
 * archive is a row of disjoint records — local header, name, extra field, data — followed by the
 * central directory. The "overlap" zip bomb (D. Fifield, "A better zip bomb", WOOT 2019,
 * https://www.bamsoftware.com/hacks/zipbomb/) points many central-directory entries at one
 * deflate stream, so a 77 kB upload inflates to gigabytes while every per-entry size looks
 * honest; the total cap of safe-zip.ts stops it only after hundreds of MiB of work. Here it is
 * refused from the layout alone: records must not share or overlap bytes, must not reach into the
 * central directory, and each local header must name the file its central entry names (APPNOTE
 * 4.3.7, 4.4.17). Pure: DataView only, O(n log n) in the entry count.
 *
 *   const problems = layoutProblems(bytes, readCentralDirectory(bytes, 200_000))
 */
import { problem, type Problem } from './problems.ts';
import type { CentralDirectory } from './zip-directory.ts';

const LOCAL = 0x04034b50;

interface Span {
  start: number;
  end: number;
  name: string;
}

const sameBytes = (bytes: Uint8Array, a: number, b: number, length: number): boolean => {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
};

/** Every entry whose record is corrupt, misnamed or overlaps another record or the central directory. */
export const layoutProblems = (bytes: Uint8Array, directory: CentralDirectory): Problem[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const problems: Problem[] = [];
  const spans: Span[] = [];
  for (const e of directory.entries) {
    const p = e.localOffset;
    // readCentralDirectory checked that the 30-byte fixed header fits in the file.
    if (view.getUint32(p, true) !== LOCAL) {
      problems.push(problem('zip_invalid', 'corrupt local header', e.name));
      continue;
    }
    const nameLength = view.getUint16(p + 26, true);
    const start = p + 30 + nameLength + view.getUint16(p + 28, true);
    if (nameLength !== e.nameLength || p + 30 + nameLength > bytes.length || !sameBytes(bytes, p + 30, e.nameAt, nameLength)) {
      problems.push(problem('zip_name_mismatch', 'the local header names another file than the central directory', e.name));
      continue;
    }
    spans.push({ start: p, end: start + e.compressedSize, name: e.name });
  }
  spans.sort((a, b) => a.start - b.start);
  let reach = 0;
  for (const s of spans) {
    // A lying compressed size (ZIP64 ones included) is a lie, not a short entry, as safe-zip.ts says.
    if (s.end > bytes.length) problems.push(problem('zip_invalid', 'the entry runs past the end of the archive', s.name));
    else if (s.start < reach) problems.push(problem('zip_overlap', 'the entry shares bytes with another entry', s.name));
    else if (s.end > directory.offset) problems.push(problem('zip_overlap', 'the entry runs into the central directory', s.name));
    reach = Math.max(reach, s.end);
  }
  return problems;
};
