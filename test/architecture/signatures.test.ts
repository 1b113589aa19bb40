/**
 * docs-model's functions are read at their call sites, so they take few arguments. The rule, over
 * every exported function of every .ts file under docs-model/ (formats and tracking included):
 *
 *   at most three parameters, plus one trailing options object. A fourth parameter is allowed only
 *   when it is named `opts`, `options` or `write` and typed as an object (a `{ … }` type, or a
 *   named type ending in `Options` or `Write`). There is never a fifth.
 *
 * So `updateAnnotation(doc, id, patch, { by, origin })` passes and `f(doc, id, patch, origin)`
 * fails: the transaction origin and every other extra goes into the options object. Exported
 * means `export function`, `export const f = (…) =>`, or a local function named in `export { … }`.
 *
 * TypeScript 7 has no JavaScript compiler API, so parameters are read by a small scanner: it counts
 * top-level commas between the parentheses, skipping strings, comments, and what is nested in
 * brackets, braces and generics (`<…>`, not the `>` of `=>`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out;
}

/** The index after a string, template literal or comment starting at `i`, or `i` when none starts there. */
function skipLiteral(src: string, i: number): number {
  const ch = src[i];
  if (ch === '/' && src[i + 1] === '/') {
    const end = src.indexOf('\n', i);
    return end < 0 ? src.length : end;
  }
  if (ch === '/' && src[i + 1] === '*') return src.indexOf('*/', i + 2) + 2;
  if (ch === '"' || ch === "'" || ch === '`') {
    let j = i + 1;
    while (j < src.length && src[j] !== ch) j += src[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  return i;
}

/** The top-level pieces of the bracketed list opening at `open`, and the index of its closing bracket. */
export function splitList(src: string, open: number): { items: string[]; close: number } {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = open; i < src.length; i++) {
    const after = skipLiteral(src, i);
    if (after !== i) {
      current += src.slice(i, after);
      i = after - 1;
      continue;
    }
    const ch = src[i]!;
    if (ch === '=' && src[i + 1] === '>') {
      current += '=>';
      i++;
      continue;
    }
    if ('([{<'.includes(ch) && ++depth === 1) continue;
    if (')]}>'.includes(ch) && --depth === 0) {
      if (current.trim()) items.push(current.trim());
      return { items, close: i };
    }
    if (ch === ',' && depth === 1) {
      items.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  throw new Error(`unbalanced brackets from offset ${open}`);
}

export interface Param {
  name: string;
  type: string;
}

const parseParam = (text: string): Param => {
  const destructured = /^[{[]/.test(text);
  const name = destructured ? '(destructured)' : (/^(?:\.\.\.)?(\w+)/.exec(text)?.[1] ?? text);
  // The type: after the top-level `:` that follows the name or the pattern, up to a default value.
  let depth = 0;
  let colon = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if ('([{<'.includes(ch)) depth++;
    else if (')]}>'.includes(ch) && text[i - 1] !== '=') depth--;
    else if (ch === ':' && depth === 0) {
      colon = i;
      break;
    }
  }
  const type = colon < 0 ? '' : text.slice(colon + 1).split(/\s=\s/)[0]!.trim();
  return { name, type };
};

export interface ExportedFunction {
  name: string;
  line: number;
  params: Param[];
}

/** Skips a generic parameter list `<…>` starting at `i`; the index after it. */
const skipGenerics = (src: string, i: number): number => (src[i] === '<' ? splitList(src, i).close + 1 : i);

/** Names a file exports through `export { a, b as c }` (no `from`): its local functions count too. */
const locallyExported = (src: string): Set<string> => {
  const names = new Set<string>();
  for (const m of src.matchAll(/^export\s*\{([^}]*)\}\s*(?!\s*from\b)[;\n]/gm)) {
    for (const item of m[1]!.split(',')) {
      const local = /^\s*(?:type\s+)?(\w+)/.exec(item)?.[1];
      if (local && !/^\s*type\s/.test(item)) names.add(local);
    }
  }
  return names;
};

/** Every exported function declaration of a source text, with its parameters. */
export function exportedFunctions(src: string): ExportedFunction[] {
  const local = locallyExported(src);
  const out: ExportedFunction[] = [];
  const declaration =
    /^(export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*(\w+)|^(export\s+)?const\s+(\w+)\s*(?::[^=\n]+)?=\s*(?:async\s+)?(?=[<(])/gm;
  for (const m of src.matchAll(declaration)) {
    const name = (m[2] ?? m[4])!;
    const exported = Boolean(m[1] ?? m[3]) || local.has(name);
    if (!exported) continue;
    let i = m.index + m[0].length;
    while (/\s/.test(src[i] ?? '')) i++;
    i = skipGenerics(src, i);
    if (src[i] !== '(') continue;
    const { items, close } = splitList(src, i);
    // `export const x = (…)` is a function only when an arrow or a return type follows.
    if (m[4] !== undefined && !/^\s*(=>|:)/.test(src.slice(close + 1, close + 8))) continue;
    out.push({ name, line: src.slice(0, m.index).split('\n').length, params: items.map(parseParam) });
  }
  return out;
}

const OPTIONS_NAMES = new Set(['opts', 'options', 'write']);
const isObjectType = (type: string): boolean => type.startsWith('{') || /^[A-Z]\w*(Options|Write)$/.test(type);

/** Why a function breaks the rule, or null when it keeps it. */
export function violation(fn: ExportedFunction): string | null {
  const n = fn.params.length;
  if (n <= 3) return null;
  if (n > 4) return `${n} parameters (at most three, plus one trailing options object)`;
  const last = fn.params[3]!;
  if (!OPTIONS_NAMES.has(last.name)) return `a 4th parameter '${last.name}': only a trailing options object (opts, options, write) may come after three`;
  if (!isObjectType(last.type)) return `a 4th parameter '${last.name}' typed '${last.type}': a trailing options object is typed as an object`;
  return null;
}

test('the scanner reads parameters and catches what breaks the rule', () => {
  const sample = [
    "export const bad = (doc: Y.Doc, id: string, patch: Patch, origin?: unknown): void => {};",
    'export function tooMany<T extends Map<string, number>>(a: T, b = (x: number) => x, c: string, d: { e: 1 }, f: number) {}',
    'export const fine = (doc: Y.Doc, id: string, patch: Patch, opts: AnnotationWriteOptions = {}): void => {};',
    "export const literal = (a: string, b = ')', c: [number, number], write: { by: string }) => a;",
    'function hidden(a: number, b: number, c: number, d: number) {}',
    'const notExported = (a: number, b: number, c: number, d: number) => a;',
    'export const value = (1 + 2) * 3;',
    'export { hidden };',
  ].join('\n');
  const found = exportedFunctions(sample);
  assert.equal(found.map((f) => [f.name, f.params.length]), [
    ['bad', 4],
    ['tooMany', 5],
    ['fine', 4],
    ['literal', 4],
    ['hidden', 4],
  ]);
  assert.equal(found.map((f) => violation(f) !== null), [true, true, false, false, true]);
});

test('docs-model: every exported function takes at most three parameters plus one options object', () => {
  const problems: string[] = [];
  let seen = 0;
  for (const file of sourceFiles('docs-model')) {
    for (const fn of exportedFunctions(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      seen++;
      const why = violation(fn);
      if (why) problems.push(`${file}:${fn.line} ${fn.name}: ${why}`);
    }
  }
  assert.ok(seen > 100, `the scanner found only ${seen} exported functions in docs-model/`);
  assert.equal(problems, [], `Take an options object instead:\n${problems.join('\n')}`);
});

test.run();
