/**
 * The session's label schema: label name → `{ color?, attributes? }`, each an atomic value.
 *
 *   setLabel(doc, 'car', { color: '#ff0000' })
 *   hasLabel(doc, 'car') // → true
 */
import type * as Y from 'yjs';
import { invalidValue, type DocModelError } from './errors.ts';
import { SESSION } from './keys.ts';
import type { LabelDef, OriginOptions } from './types.ts';
import { cloneValue, isNonEmptyString, isPlainObject, sameValue } from './values.ts';

const labelsMap = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(SESSION.labels);

/** Every problem with a label name and definition, empty when valid. */
export const validateLabel = (name: string, def: LabelDef): DocModelError[] => {
  const errors: DocModelError[] = [];
  if (!isNonEmptyString(name)) errors.push(invalidValue('name', 'label name must be a non-empty string'));
  if (!isPlainObject(def)) {
    errors.push(invalidValue('def', 'label definition must be an object'));
    return errors;
  }
  if (def.color !== undefined && typeof def.color !== 'string') {
    errors.push(invalidValue('color', 'color must be a string'));
  }
  if (def.attributes !== undefined && !isPlainObject(def.attributes)) {
    errors.push(invalidValue('attributes', 'attributes must be an object'));
  }
  return errors;
};

/** Creates or replaces a label. A no-op (no update) when the definition is unchanged. */
export const setLabel = (doc: Y.Doc, name: string, def: LabelDef, opts: OriginOptions = {}): void => {
  const errors = validateLabel(name, def);
  if (errors[0]) throw errors[0];
  const map = labelsMap(doc);
  if (map.has(name) && sameValue(map.get(name), def)) return;
  doc.transact(() => map.set(name, cloneValue(def)), opts.origin);
};

/**
 * Removes a label; true when it existed. Annotations that carry it keep it (they are the
 * ground truth; an export still shows them), but new ones can no longer use it.
 */
export const removeLabel = (doc: Y.Doc, name: string, origin?: unknown): boolean => {
  const map = labelsMap(doc);
  if (!map.has(name)) return false;
  doc.transact(() => map.delete(name), origin);
  return true;
};

export const hasLabel = (doc: Y.Doc, name: string): boolean => labelsMap(doc).has(name);

/** All labels as plain data; a value a client wrote that is not an object reads as `{}`. */
export const getLabels = (doc: Y.Doc): Record<string, LabelDef> => {
  const out: Record<string, LabelDef> = {};
  for (const [name, value] of labelsMap(doc).entries()) {
    out[name] = isPlainObject(value) ? (cloneValue(value) as LabelDef) : {};
  }
  return out;
};
