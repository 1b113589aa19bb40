/**
 * Imports only go down (docs/architecture.md, "Layers"): every source file's imports are read and
 * each must point at its own layer or one below. A module that reaches up fails here with the line
 * to change, so the layering in the folder names cannot drift from the code.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bottom to top. A file may import its own layer and any lower one. Layers on one rung are
 * siblings and must not import each other (`api` and `sync` are two transports over the same
 * services).
 */
const LAYERS: ReadonlyArray<{ name: string; rank: number; match: (file: string) => boolean }> = [
  { name: 'docs-model', rank: 0, match: (f) => f.startsWith('docs-model/') },
  { name: 'shared', rank: 0, match: (f) => f.startsWith('shared/') },
  { name: 'persistence', rank: 1, match: (f) => f.startsWith('persistence/') || f.startsWith('migrations/') },
  { name: 'client', rank: 1, match: (f) => f.startsWith('client/') },
  { name: 'cli', rank: 1, match: (f) => f.startsWith('cli/') },
  { name: 'server/base', rank: 2, match: (f) => f.startsWith('server/base/') || f === 'server/config.ts' },
  { name: 'server/documents', rank: 3, match: (f) => f.startsWith('server/documents/') },
  { name: 'server/followers', rank: 4, match: (f) => f.startsWith('server/followers/') },
  { name: 'server/services', rank: 5, match: (f) => f.startsWith('server/services/') },
  { name: 'server/http', rank: 6, match: (f) => f.startsWith('server/http/') },
  { name: 'server/api', rank: 7, match: (f) => f.startsWith('server/api/') },
  { name: 'server/sync', rank: 7, match: (f) => f.startsWith('server/sync/') },
  { name: 'server (assembly)', rank: 8, match: (f) => /^server\/[^/]+\.ts$/.test(f) },
  { name: 'tools', rank: 9, match: (f) => f.startsWith('tools/') },
  { name: 'bench, scripts', rank: 10, match: (f) => f.startsWith('bench/') || f.startsWith('scripts/') },
  { name: 'test', rank: 11, match: (f) => f.startsWith('test/') },
];

/** Packages docs-model and shared may use: they must run in a browser unchanged. */
const BROWSER_SAFE_PACKAGES = ['yjs', 'lib0', 'fflate', 'fast-xml-parser', 'y-protocols'];
/** The browser client adds the provider and the offline store. */
const CLIENT_PACKAGES = [...BROWSER_SAFE_PACKAGES, 'y-websocket', 'y-indexeddb'];
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out;
}

/** Every module specifier of a file: static imports and re-exports, `import()` with a literal. */
export function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of withoutComments.matchAll(pattern)) specifiers.push(match[1]!);
  }
  return specifiers;
}

function layerOf(file: string) {
  return LAYERS.find((layer) => layer.match(file));
}

const files = ['docs-model', 'shared', 'client', 'cli', 'persistence', 'migrations', 'server', 'tools', 'bench', 'scripts'].flatMap(sourceFiles);

test('every source file belongs to a layer', () => {
  const orphans = files.filter((f) => !layerOf(f));
  assert.equal(orphans, []);
});

test('imports only go down: no module imports from a layer above its own, nor from a sibling', () => {
  const breaches: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (!from) continue;
    for (const specifier of importsOf(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const to = layerOf(target);
      if (!to || to === from) continue;
      if (to.rank > from.rank) breaches.push(`${file} (${from.name}) imports ${target} (${to.name}, above)`);
      else if (to.rank === from.rank) breaches.push(`${file} (${from.name}) imports ${target} (${to.name}, a sibling)`);
    }
  }
  assert.equal(breaches, []);
});

test('docs-model, shared and client import nothing Node-only and nothing outside themselves but browser-safe packages', () => {
  const breaches: string[] = [];
  for (const file of files.filter((f) => f.startsWith('docs-model/') || f.startsWith('shared/') || f.startsWith('client/'))) {
    const allowed = file.startsWith('client/') ? CLIENT_PACKAGES : BROWSER_SAFE_PACKAGES;
    for (const specifier of importsOf(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      if (specifier.startsWith('.')) continue;
      const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(pkg)) breaches.push(`${file} imports ${specifier} (Node only)`);
      else if (!allowed.includes(pkg)) breaches.push(`${file} imports ${specifier} (not known browser-safe)`);
    }
  }
  assert.equal(breaches, []);
});

test('the import reader sees static, type-only, re-exported and dynamic imports', () => {
  const found = importsOf(
    [
      "import * as Y from 'yjs';",
      "import type { A } from './a.ts';",
      "import { b,\n  c } from '../b.ts';",
      "export { d } from './d.ts';",
      "export * from './e.ts';",
      "const f = await import('./f.ts');",
      "import './side.ts';",
      "// import { g } from './commented.ts';",
    ].join('\n'),
  );
  assert.equal(found.sort(), ['yjs', './a.ts', '../b.ts', './d.ts', './e.ts', './f.ts', './side.ts'].sort());
});

test.run();
