/**
 * The young generation during start. V8 doubles the space for new objects whenever many survive
 * a scavenge, as they do while the server's modules load and evaluate (every function and schema
 * they make lives on): by the time it listened, the main thread's new space had grown from 1 to
 * 32 MB, and stayed so until V8's memory reducer shrank it back to 1 MB ~8 s later
 * (`node --trace-gc`: "Mark-Compact (reduce)"). A server on PGlite was at 159-163 MiB RSS when it
 * started listening and at 140-143 twenty seconds later, idle all along; held, 145-146 at once
 * (`npx tsx bench/start.ts`; docs/architecture.md, "Loading").
 *
 * Held at its first size while the server starts, the objects that live on are promoted to the old
 * generation as they would be anyway, and the space grows again as the work after start needs it.
 * `--semi-space-growth-factor` is read on each growth (V8's flag-definitions.h; its default, 2, is
 * what `node --v8-options` prints); a factor a user gave on the command line or in NODE_OPTIONS
 * is left as it is. Process-wide, so only the process entry calls these, never `createServer`.
 */
import v8 from 'node:v8';

const V8_DEFAULT_GROWTH_FACTOR = 2;

function userSetGrowth(): boolean {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => /semi[-_]space[-_]growth[-_]factor/.test(arg));
}

/** Until `releaseYoungGeneration`, the new space keeps the size it has. */
export function holdYoungGeneration(): void {
  if (!userSetGrowth()) v8.setFlagsFromString('--semi-space-growth-factor=1');
}

export function releaseYoungGeneration(): void {
  if (!userSetGrowth()) v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
}
