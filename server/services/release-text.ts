/**
 * A release's stored content read back in slices. Inflating and parsing a release of 10 000
 * annotations held the event loop 15-30 ms in one piece (gunzip 3-5 ms, `JSON.parse` 11-24) at
 * every read the releases service's cache missed: a release's first evaluation, export or diff
 * after a restart, or in another process behind Redis. The repository inflates it in zlib's thread
 * pool (`contentText`); here its annotations array is parsed element by element in slices
 * (base/json-slices.ts), the rest (meta, labels, tracks: small) at once. A text of another shape
 * is parsed whole, so its value and its error are `decodeReleaseContent`'s.
 *
 *   const content = await decodeReleaseText(text)   // deep-equal to decodeReleaseContent(bytes of the text)
 */
import { invalidContent } from '../../docs-model/errors.ts';
import { releaseAnnotationsSpan, releaseContentOf, type ReleaseContent } from '../../docs-model/release-content.ts';
import { isPlainObject } from '../../docs-model/values.ts';
import { parseJsonInSlices } from '../base/json-slices.ts';
import { SLICE_MS } from '../base/loop-slices.ts';

/** `sliceMs`: how long a slice runs before the loop turns (base/loop-slices.ts). */
export async function decodeReleaseText(text: string, sliceMs = SLICE_MS): Promise<ReleaseContent> {
  const span = releaseAnnotationsSpan(text);
  if (span) {
    const split = await parsedApart(text, span, sliceMs);
    if (split) return releaseContentOf(split);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw invalidContent('content', `release content is not JSON: ${(err as Error).message}`);
  }
  return releaseContentOf(root);
}

/** The text parsed as its two parts, the annotations put back in their place; null when either part does not parse as it should. */
async function parsedApart(text: string, span: { start: number; end: number }, sliceMs: number): Promise<Record<string, unknown> | null> {
  try {
    const root: unknown = JSON.parse(text.slice(0, span.start) + '[]' + text.slice(span.end));
    if (!isPlainObject(root) || !isPlainObject(root.content)) return null;
    const annotations = await parseJsonInSlices(text.slice(span.start, span.end), sliceMs);
    if (!Array.isArray(annotations)) return null;
    root.content.annotations = annotations;
    return root;
  } catch {
    return null;
  }
}
