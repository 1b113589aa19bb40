/**
 * The api layer is routes, schemas and access checks (docs/architecture.md, "Layers"): a route
 * reads or changes a document by calling a service (`server/services/session-documents.ts`,
 * `session-imports.ts`, …), never the document registry itself, so REST and the socket share one
 * path into a document. Fails with the line that reaches past the services.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')));
}

/** Lines of a source that use the registry: `.registry.`/`.registry)` or a DocRegistry import. */
export function registryUses(source: string): number[] {
  const lines: number[] = [];
  source.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*\*/.test(code)) return;
    if (/\.registry\b|\bDocRegistry\b|documents\/doc-registry/.test(code)) lines.push(i + 1);
  });
  return lines;
}

test('the registry reader finds a use and skips comments', () => {
  assert.equal(registryUses("const a = 1;\n  await deps.registry.read(name, f);\n * deps.registry in a comment\n// deps.registry"), [2]);
});

test('server/api reaches documents only through services', () => {
  const problems = sourceFiles('server/api').flatMap((file) =>
    registryUses(fs.readFileSync(path.join(ROOT, file), 'utf8')).map((line) => `${file}:${line}`),
  );
  assert.equal(problems, [], `call a service instead of the registry:\n${problems.join('\n')}`);
});

test.run();
