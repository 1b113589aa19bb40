/**
 * A checked JSON parse for untrusted imports: nesting depth is capped before
 * anything deep is built, `__proto__` / `constructor` / `prototype` keys are dropped and reported
 * (they never reach an object, so a later spread cannot pollute a prototype), and numbers that
 * do not survive as finite doubles (`1e309`) are refused with their JSON pointer. NaN, Infinity
 * and `12abc` are not JSON, so they are syntax errors with a pointer too.
 *
 *   const { value, problems } = parseSafeJson('{"a":[1,2]}') // value = { a: [1, 2] }
 */
import { InputTooLargeError, problem, type Problem } from './problems.ts';

export interface SafeJsonLimits {
  /** Deepest nesting of arrays/objects. Default 64 (COCO needs 4). */
  maxDepth?: number;
  /** Longest input in UTF-16 units. Default 256 MiB. */
  maxLength?: number;
}

export const SAFE_JSON_DEFAULTS: Required<SafeJsonLimits> = { maxDepth: 64, maxLength: 256 * 1024 * 1024 };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export const decodeText = (input: string | Uint8Array): string =>
  typeof input === 'string' ? input.replace(/^\uFEFF/, '') : new TextDecoder('utf-8').decode(input); // TextDecoder drops the BOM

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

class SyntaxStop extends Error {}

export const parseSafeJson = (
  input: string | Uint8Array,
  limits: SafeJsonLimits = {},
): { value: unknown; problems: Problem[] } => {
  const { maxDepth, maxLength } = { ...SAFE_JSON_DEFAULTS, ...limits };
  const text = decodeText(input);
  if (text.length > maxLength) {
    throw new InputTooLargeError('json_too_large', `JSON longer than ${maxLength} characters`, '', maxLength, 'characters');
  }
  const problems: Problem[] = [];
  let i = 0;

  const stop = (code: string, message: string, pointer: string): never => {
    problems.push(problem(code, `${message} at character ${i}`, pointer || '/'));
    throw new SyntaxStop();
  };
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const str = (pointer: string): string => {
    const start = ++i;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) return stop('json_syntax', 'unterminated string', pointer);
      if (c === 34) break;
      if (c < 32) return stop('json_syntax', 'control character in string', pointer);
      if (c === 92) {
        escaped = true;
        i++;
      }
      i++;
    }
    const raw = text.slice(start, i++);
    if (!escaped) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return stop('json_syntax', 'bad escape in string', pointer);
    }
  };
  const value = (pointer: string, depth: number): unknown => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) return stop('json_too_deep', `nesting deeper than ${maxDepth}`, pointer);
      i++;
      ws();
      if (c === '[') {
        const out: unknown[] = [];
        if (text[i] === ']') {
          i++;
          return out;
        }
        for (;;) {
          out.push(value(`${pointer}/${out.length}`, depth + 1));
          ws();
          const d = text[i++];
          if (d === ']') return out;
          if (d !== ',') return stop('json_syntax', 'expected , or ]', pointer);
        }
      }
      const out: Record<string, unknown> = {};
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') return stop('json_syntax', 'expected a key', pointer);
        const key = str(pointer);
        const at = `${pointer}/${escapePointer(key)}`;
        ws();
        if (text[i++] !== ':') return stop('json_syntax', 'expected :', at);
        const v = value(at, depth + 1);
        if (FORBIDDEN_KEYS.has(key)) problems.push(problem('forbidden_key', `key "${key}" is not allowed`, at));
        else out[key] = v;
        ws();
        const d = text[i++];
        if (d === '}') return out;
        if (d !== ',') return stop('json_syntax', 'expected , or }', pointer);
      }
    }
    if (c === '"') return str(pointer);
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    if (text.startsWith('null', i)) return (i += 4), null;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return stop('bad_number', 'not a JSON value (NaN, Infinity and 12abc are not numbers)', pointer);
    i += m[0].length;
    const next = text.charCodeAt(i);
    // '12abc': a number glued to letters is not a number, not "12 then garbage".
    if ((next >= 65 && next <= 90) || (next >= 97 && next <= 122) || (next >= 48 && next <= 57) || next === 46) {
      return stop('bad_number', `"${text.slice(i - m[0].length, i + 4)}…" is not a number`, pointer);
    }
    const n = Number(m[0]);
    if (!Number.isFinite(n)) {
      problems.push(problem('bad_number', `${m[0]} is not a finite number`, pointer || '/'));
      return null;
    }
    return n;
  };

  try {
    const v = value('', 0);
    ws();
    if (i < text.length) stop('json_syntax', 'trailing characters', '');
    return { value: v, problems };
  } catch (e) {
    if (e instanceof SyntaxStop) return { value: undefined, problems };
    throw e;
  }
};
