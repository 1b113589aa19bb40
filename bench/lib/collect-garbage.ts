/**
 * A full garbage collection of the bench process, on demand, without starting node with
 * `--expose-gc`: V8's flag set at run time, then `gc` taken from a new context (bench only).
 *
 *   collectGarbage()   // before a timed step, so it does not pay for the step before it
 *
 * The clients of a bench share this process: a 10 000-annotation Y.Doc synced and dropped by one
 * step is garbage, and the major collection that frees it can land in whichever step comes next
 * (bench:sync's initial sync: docs/architecture.md, "Who hears a change").
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
}
