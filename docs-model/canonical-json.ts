/**
 * Canonical JSON text after RFC 8785, the JSON Canonicalization Scheme
 * (https://www.rfc-editor.org/rfc/rfc8785): object members sorted by their names' UTF-16 code
 * units, no whitespace, strings escaped as ECMAScript's JSON.stringify escapes them, and numbers
 * in ECMAScript's shortest round-trip form (Number.prototype.toString, which ECMA-262 specifies
 * digit for digit), with -0 written as 0. Equal values therefore give equal bytes on every
 * engine and every peer, whatever order their keys were written in.
 *
 *   canonicalJson({ b: [1.50, -0], a: 'x' }) // '{"a":"x","b":[1.5,0]}'
 */
import { invalidValue } from './errors.ts';
import { isPlainObject } from './values.ts';

/** Throws DocModelError 'invalid_value' for what JSON cannot hold (NaN, Infinity, functions, …). */
export const canonicalJson = (value: unknown): string => {
  // Fast path: a copy with every object's keys inserted in sorted order, written by the engine's
  // JSON.stringify (about 10× faster than writing piece by piece). JavaScript objects put
  // array-index keys ('0', '12') first whatever the insertion order, so a value that has one is
  // written piece by piece instead.
  try {
    return JSON.stringify(sortedCopy(value, ''));
  } catch (err) {
    if (err !== INDEX_KEY) throw err;
  }
  const out: string[] = [];
  write(value, out, '');
  return out.join('');
};

const INDEX_KEY = Symbol('array-index key');
const isIndexKey = (k: string): boolean => /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 2 ** 32 - 1;

function sortedCopy(value: unknown, at: string): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidValue(at || '/', `${String(value)} has no JSON form (at ${at || '/'})`);
    return value; // JSON.stringify writes -0 as 0
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v: unknown, k) => sortedCopy(v, `${at}/${k}`));
  if (isPlainObject(value)) {
    // No prototype: a key named '__proto__' stays a key.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      if (isIndexKey(key)) throw INDEX_KEY;
      const v = value[key];
      if (v !== undefined) out[key] = sortedCopy(v, `${at}/${key}`);
    }
    return out;
  }
  throw invalidValue(at || '/', `a ${typeof value} has no JSON form (at ${at || '/'})`);
}

/** UTF-16 code-unit order, which `<` on JavaScript strings is (RFC 8785 §3.2.3). */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function write(value: unknown, out: string[], at: string): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidValue(at || '/', `${String(value)} has no JSON form (at ${at || '/'})`);
    out.push(Object.is(value, -0) ? '0' : JSON.stringify(value));
  } else if (typeof value === 'string') {
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v: unknown, k) => {
      if (k) out.push(',');
      write(v, out, `${at}/${k}`);
    });
    out.push(']');
  } else if (isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const key of Object.keys(value).sort(byCodeUnits)) {
      const v = value[key];
      if (v === undefined) continue; // as JSON.stringify: an absent member
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(key), ':');
      write(v, out, `${at}/${key}`);
    }
    out.push('}');
  } else {
    throw invalidValue(at || '/', `a ${typeof value} has no JSON form (at ${at || '/'})`);
  }
}
