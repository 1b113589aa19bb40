/**
 * One module per concept (docs/architecture.md, "Layers"): a source file that passes 400 lines
 * holds more than one, and is split before it grows further. This fails with the files to split,
 * so the limit holds without anyone counting by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 400;
/** The product's source and what measures it; tests may be longer (one suite per unit). */
const DIRS = ['docs-model', 'persistence', 'server', 'shared', 'client', 'cli', 'tools', 'bench', 'scripts', 'migrations'];

function sourceFiles(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((entry) => {
    const child = path.posix.join(rel, entry.name);
    if (entry.isDirectory()) return sourceFiles(child);
    return /\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [child] : [];
  });
}

/** Lines as `wc -l` counts them: a final newline ends the last line, it does not start another. */
const lineCount = (file: string): number => {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
};

test('every source file is at most 400 lines', () => {
  const files = DIRS.flatMap(sourceFiles);
  assert.ok(files.length > 100, `found only ${files.length} source files: the walk is wrong`);
  const long = files.map((file) => ({ file, lines: lineCount(file) })).filter((f) => f.lines > MAX_LINES);
  assert.equal(long.map((f) => `${f.file}: ${f.lines} lines`), [], `split these files (at most ${MAX_LINES} lines each)`);
});

test.run();
