/**
 * Runs an ES module script in a fresh Node process under tsx (so it may import the project's
 * TypeScript) and resolves with its stdout: for what a process loads or holds from its start,
 * which a test process shared with other test files cannot show.
 *
 *   const out = await inFreshProcess(`process.stdout.write(String(process.memoryUsage().rss))`)
 *
 * From a file, not `-e`: `--input-type=module` would pass on to worker threads, whose bootstrap
 * (persistence/worker-thread.ts) is CommonJS.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export async function inFreshProcess(script: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'annosync-fresh-'));
  try {
    writeFileSync(join(dir, 'run.mjs'), script);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(dir, 'run.mjs')]);
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
