/**
 * A migrated, closed PGlite data directory that test databases and test servers start from as a
 * copy. Creating a PGlite database (initdb in WebAssembly, then every migration) takes 3–5 s;
 * copying a closed one and opening the copy takes well under one.
 *
 * The template is made once per version of the migrations and of PGlite, and kept in
 * node_modules/.cache/annosync/ (where build tools keep their caches, removed with node_modules),
 * so that parallel test workers and later runs share it. It is built in a directory of its own and
 * renamed into place, which is atomic: a template that exists is complete.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../persistence/database.ts';

const root = path.resolve(import.meta.dirname, '..');

/** Changes whenever a migration or the PGlite package does. */
function templateKey(): string {
  const hash = createHash('sha256');
  const migrations = path.join(root, 'migrations');
  for (const name of readdirSync(migrations).sort()) {
    hash.update(name).update(readFileSync(path.join(migrations, name)));
  }
  // The package does not export its package.json; its version is in the lockfile's entry for it.
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  hash.update(lock.packages['node_modules/@electric-sql/pglite']?.version ?? '');
  return hash.digest('hex').slice(0, 16);
}

let template: Promise<string> | null = null;

/** The template's directory; it holds `pglite/`, as a server's DATA_DIR does. */
export function migratedPgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const cache = path.join(root, 'node_modules', '.cache', 'annosync');
    const final = path.join(cache, `pglite-template-${templateKey()}`);
    if (existsSync(final)) return final;
    mkdirSync(cache, { recursive: true });
    const building = mkdtempSync(path.join(cache, 'building-'));
    try {
      const db = await openDatabase({ dataDir: path.join(building, 'pglite') });
      await db.close();
      renameSync(building, final);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      // Another process renamed its copy into place first: theirs is as good as ours.
      if (!existsSync(final)) throw err;
    }
    return final;
  })();
  return template;
}

/** A new temp directory holding a copy of the template (`<dir>/pglite`); the caller removes it. */
export async function copyPgliteTemplate(prefix = 'annosync-test-'): Promise<string> {
  const source = await migratedPgliteTemplate();
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cpSync(source, dir, { recursive: true });
  return dir;
}
