/**
 * XML for untrusted imports: a DOCTYPE or ENTITY declaration is refused
 * before the parser sees the text (no entity expansion, no external entities: the
 * billion-laughs and XXE families), and size and element depth are capped by a scan that
 * builds nothing.
 *
 *   const doc = parseSafeXml(text, 'Annotations/frame_000001.xml') // plain object tree
 */
import { XMLParser } from 'fast-xml-parser';
import { decodeText } from './safe-json.ts';
import { InputTooLargeError, problem, UnsafeInputError } from './problems.ts';

export interface SafeXmlLimits {
  /** Longest document in UTF-16 units. Default 4 MiB (a VOC file is ~1 KiB per object). */
  maxLength?: number;
  /** Deepest element nesting. Default 32 (VOC needs 5). */
  maxDepth?: number;
}

export const SAFE_XML_DEFAULTS: Required<SafeXmlLimits> = { maxLength: 4 * 1024 * 1024, maxDepth: 32 };

/** Throws UnsafeInputError for DOCTYPE/ENTITY or depth, InputTooLargeError for size. */
export const checkXml = (text: string, place: string, limits: SafeXmlLimits = {}): void => {
  const { maxLength, maxDepth } = { ...SAFE_XML_DEFAULTS, ...limits };
  if (text.length > maxLength) {
    throw new InputTooLargeError('xml_too_large', `${place}: XML longer than ${maxLength} characters`, place, maxLength, 'characters');
  }
  const decl = /<!\s*(DOCTYPE|ENTITY)/i.exec(text);
  if (decl) {
    const line = text.slice(0, decl.index).split('\n').length;
    throw new UnsafeInputError([
      problem('xml_doctype', `XML with a ${decl[1]!.toUpperCase()} declaration is refused`, `${place}:${line}`),
    ]);
  }
  let depth = 0;
  let i = text.indexOf('<');
  while (i >= 0) {
    const next = text[i + 1];
    if (text.startsWith('<!--', i)) i = text.indexOf('-->', i);
    else if (text.startsWith('<![CDATA[', i)) i = text.indexOf(']]>', i);
    else if (next === '?') i = text.indexOf('?>', i);
    else if (next === '/') depth--;
    else {
      const end = text.indexOf('>', i);
      if (end < 0) break;
      if (text[end - 1] !== '/') depth++;
      if (depth > maxDepth) {
        const line = text.slice(0, i).split('\n').length;
        throw new UnsafeInputError([problem('xml_too_deep', `elements nested deeper than ${maxDepth}`, `${place}:${line}`)]);
      }
      i = end;
    }
    if (i < 0) break;
    i = text.indexOf('<', i + 1);
  }
};

export interface SafeXmlOptions extends SafeXmlLimits {
  /** Element names always read as arrays (VOC `object`), even when there is one. */
  arrays?: string[];
}

export const parseSafeXml = (input: string | Uint8Array, place: string, opts: SafeXmlOptions = {}): unknown => {
  const { arrays = [], ...limits } = opts;
  const text = decodeText(input);
  checkXml(text, place, limits);
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false, // numbers are checked by the importer, which knows the place
    trimValues: true,
    processEntities: true, // only the five predefined entities: DOCTYPE was refused above
    htmlEntities: false,
    isArray: (name: string) => arrays.includes(name),
  });
  try {
    return parser.parse(text, true) as unknown;
  } catch (e) {
    throw new UnsafeInputError([problem('xml_syntax', e instanceof Error ? e.message : String(e), place)]);
  }
};
