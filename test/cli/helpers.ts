/**
 * Runs the `annosync` command as a child process, the way a CI job does (not a test file).
 *
 *   const r = await annosync(['export', '--session', id, '--format', 'coco', '-o', file], { ANNOSYNC_URL: url, ANNOSYNC_TOKEN: token })
 *   r.code // exit code; r.stdout, r.stderr
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'annosync.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function annosync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // No ANNOSYNC_* from the shell running the tests: each test says what it sets.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANNOSYNC_'))) as Record<string, string>;
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** True when stderr is one line and shows no stack frame. */
export const oneCleanLine = (stderr: string): boolean => stderr.trim().split('\n').length === 1 && !/\n\s+at /.test(stderr) && stderr.trim().length > 0;
