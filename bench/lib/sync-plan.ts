/**
 * What bench/sync.ts runs: its plans (the full run and `--quick`) and its command line.
 *
 *   const args = parseArgs(process.argv.slice(2));
 *   const plan = args.quick ? QUICK : FULL;
 */
import { resolve } from 'node:path';
import type { ServerKind } from './server-process.ts';

// Measured on the 2-core machine (reference, fan-out 50): receivers in the bench process gave
// p50 1.35 ms / 160 ms wall for 60 updates; split over 2 child processes p50 2.58 ms / 339 ms,
// because three busy processes then contend for two cores and IPC adds work. So: in-process.
const DEFAULT_WORKERS = 0;
export const SCENARIOS = ['fanout', 'throughput', 'initial', 'reconnect', 'rss', 'open'];

// Timed parts run `reps` times, alternating the servers, and report the median repetition, so a
// burst of load from elsewhere on the machine spoils one repetition rather than one server.
// Warm-ups are generous: with a cold JIT the first server measured came out 1.5× slower than
// the same server measured second. A reconnect round runs code the other scenarios hardly touch
// (the upgrade, auth, a connection's setup and teardown, 200 times at once): each server's rounds
// took 2-3× their settled time at first and settled only after ~8 (a `.tmp` probe, round by
// round after a group opened: annosync 243, 199, 153 … 78, 76 ms; the reference 155, 189, 134 …
// 72, 66), so with one warm-up round the row measured V8 compiling both servers, 0.96-1.36 in
// three runs.
export const FULL = {
  reps: 3,
  fanOut: { clients: [2, 10, 50], updates: 1000, warmup: 100 },
  throughput: { docs: 100, updates: 600, warmup: 30, window: 4 },
  initialSync: { annotations: 10_000, batch: 250, fresh: 9 },
  reconnect: { docs: 20, perDoc: 10, annotations: 100, warmup: 10, rounds: 25 },
  rss: { docs: 200, annotations: 100 },
  open: { docs: 1000 },
};
export const QUICK: typeof FULL = {
  reps: 3,
  fanOut: { clients: [2, 10, 50], updates: 150, warmup: 50 },
  throughput: { docs: 100, updates: 60, warmup: 15, window: 4 },
  initialSync: { annotations: 10_000, batch: 250, fresh: 3 },
  reconnect: { docs: 20, perDoc: 10, annotations: 100, warmup: 3, rounds: 3 },
  rss: { docs: 100, annotations: 100 },
  open: { docs: 300 },
};

export interface Args {
  quick: boolean;
  only: ServerKind | null;
  postgres: boolean;
  /** annosync on Postgres and on PGlite in the same run, against one reference. */
  both: boolean;
  env: Record<string, string>;
  idleWaitMs: number;
  /** Child processes for the fan-out receivers; 0 keeps them in the bench process. */
  workers: number;
  annosyncMain: string | undefined;
  /** Flags for the node running annosync (a CPU profile, say); the reference runs without them. */
  nodeArgs: string[];
  scenarios: Set<string>;
  /**
   * Updates per document in each throughput repetition (default: the plan's). The default's ~2 s
   * see no compaction (a loaded document compacts at most every 10 s); thousands show sustained load.
   */
  throughputUpdates: number | undefined;
  /** Whole runs, one after the other (servers started afresh each time), then a summary over them. */
  runs: number;
  /** The fan-out's and throughput's floor beside them (bench/lib/sync-floor.ts); `--no-floor` leaves it out. */
  floor: boolean;
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    quick: false,
    only: null,
    postgres: false,
    both: false,
    env: {},
    idleWaitMs: -1,
    workers: DEFAULT_WORKERS,
    annosyncMain: undefined,
    nodeArgs: [],
    scenarios: new Set(SCENARIOS),
    throughputUpdates: undefined,
    runs: 1,
    floor: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--postgres') args.postgres = true;
    else if (arg === '--no-floor') args.floor = false;
    else if (arg === '--both') args.both = true;
    else if (arg === '--only') {
      const v = value();
      if (v !== 'annosync' && v !== 'reference') throw new Error('--only takes annosync or reference');
      args.only = v;
    } else if (arg === '--env') {
      const [k, ...rest] = value().split('=');
      if (k === undefined || k === '' || rest.length === 0) throw new Error('--env takes KEY=VALUE');
      args.env[k] = rest.join('=');
    } else if (arg === '--idle-wait') args.idleWaitMs = Number(value()) * 1000;
    else if (arg === '--workers') args.workers = Number(value());
    else if (arg === '--annosync-main') args.annosyncMain = resolve(value());
    else if (arg === '--node-args') args.nodeArgs = value().split(' ').filter(Boolean);
    else if (arg === '--runs') {
      args.runs = Number(value());
      if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs takes a positive integer');
    } else if (arg === '--throughput-updates') {
      args.throughputUpdates = Number(value());
      if (!Number.isInteger(args.throughputUpdates) || args.throughputUpdates < 1) throw new Error('--throughput-updates takes a positive integer');
    }
    else if (arg === '--scenarios') {
      args.scenarios = new Set(value().split(','));
      for (const name of args.scenarios) {
        if (!SCENARIOS.includes(name)) throw new Error(`--scenarios takes some of ${SCENARIOS.join(',')}`);
      }
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (args.both && (args.postgres || args.only !== null)) throw new Error('--both runs every server: it takes neither --postgres nor --only');
  if (args.idleWaitMs < 0) args.idleWaitMs = args.quick ? 10_000 : 20_000;
  return args;
}

