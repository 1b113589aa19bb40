/**
 * A large JSON body parsed without holding the event loop for the whole of it. `JSON.parse` of a
 * 50 000-detection upload (3-5 MB) is one call of 20-50 ms, and with the garbage of its objects
 * the longest wait another client saw during the upload (`npm run bench:detections-upload`). A
 * body whose top level is an array is cut at its elements instead (a scan for the commas between
 * them that tracks strings and nesting), each element parsed by `JSON.parse` on its own, with a
 * turn of the loop once a slice has run SLICE_MS: about the same work in all (the scan costs what
 * one parse of the whole saves in garbage), spread over many turns.
 *
 * The value is what `JSON.parse` gives for the same text, and so is the error: a text the scan
 * does not read as `[ element , element ... ]` between JSON whitespace, each element parsing on its
 * own, is handed whole to `JSON.parse`, which gives its value or throws its usual message with its
 * position.
 *
 *   const value = await parseJsonInSlices(body.toString('utf8'))   // as JSON.parse(text), in slices
 */
import { finishInSlices, SLICE_MS } from './loop-slices.ts';

const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
/** What the scan could not read: the whole text goes to JSON.parse, for its value or its error. */
const UNREAD = Symbol('unread');
/** Characters scanned between looks at the clock. */
const SCAN_STEP = 4096;

/** JSON's whitespace (RFC 8259, section 2): space, tab, line feed, carriage return. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function parseJsonInSlices(text: string, sliceMs = SLICE_MS): Promise<unknown> {
  return finishInSlices(scan(text), sliceMs);
}

/** The text's value; a step per SCAN_STEP characters scanned. */
function* scan(text: string): Generator<void, unknown> {
  let at = 0;
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  if (text.charCodeAt(at) !== OPEN_ARRAY) return JSON.parse(text);
  const items: unknown[] = [];
  let depth = 1;
  let inString = false;
  /** Where the element being read starts; -1 between elements. */
  let start = -1;
  /** A comma was read and no element after it yet. */
  let afterComma = false;
  let end = -1;
  for (let i = at + 1; i < text.length && end < 0; yield) {
    const stop = Math.min(text.length, i + SCAN_STEP);
    for (; i < stop; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (c === BACKSLASH) i++;
        else if (c === QUOTE) inString = false;
        continue;
      }
      if (depth === 1 && start < 0) {
        if (isSpace(c)) continue;
        if (c === CLOSE_ARRAY && !afterComma) {
          end = i;
          break;
        }
        if (c === COMMA || c === CLOSE_ARRAY) return JSON.parse(text);
        start = i;
        afterComma = false;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
      else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (--depth > 0) continue;
        const item = c === CLOSE_ARRAY ? parseElement(text, start, i) : UNREAD;
        if (item === UNREAD) return JSON.parse(text);
        items.push(item);
        end = i;
        break;
      } else if (c === COMMA && depth === 1) {
        const item = parseElement(text, start, i);
        if (item === UNREAD) return JSON.parse(text);
        items.push(item);
        start = -1;
        afterComma = true;
      }
    }
  }
  if (end < 0) return JSON.parse(text);
  for (let i = end + 1; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return JSON.parse(text);
  return items;
}

/** One element, or UNREAD when it does not parse (the whole text's parse then says where). */
function parseElement(text: string, start: number, end: number): unknown {
  try {
    return JSON.parse(text.slice(start, end));
  } catch {
    return UNREAD;
  }
}
