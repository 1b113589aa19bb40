/**
 * Plain-value helpers shared by the docs-model modules (internal; not re-exported).
 * Values stored in a Y.Map as `ContentAny` (bbox arrays, attribute objects) are handed out by
 * reference, so everything that enters or leaves the document is copied here.
 */
import { uuidv4 } from 'lib0/random';

export const newId = (): string => uuidv4();

export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** A deep copy of a JSON-like value (objects, arrays, primitives). */
export const cloneValue = <T>(v: T): T => {
  if (Array.isArray(v)) return v.map((x: unknown) => cloneValue(x)) as T;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneValue(x);
    return out as T;
  }
  return v;
};

/** Deep equality of JSON-like values; used so that writes touch only keys that really change. */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
};

/** Compares with `<`/`>` on strings, independent of locale, so orders agree on every peer. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
