/**
 * The results of bench/redis-fanout.ts and the report it prints: three tables (delivery latency,
 * burst, join) and one JSON line for machines.
 */
import { median, percentile } from './stats.ts';

/** The sizes of one run (full or quick). */
export interface FanoutPlan {
  readers: number;
  latency: { updates: number; warmup: number; perSecond: number };
  burst: { updates: number; warmup: number; chunk: number };
  join: { trials: number };
}

export interface LatencyRow {
  readersOn: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveries: number;
  skipped: number;
}
export interface LatencyResult {
  room: string;
  /** Stamps sent: the warm-up and the measured ones. */
  sent: number;
  rows: LatencyRow[];
  /** CPU ms per update over the measured window: A, B, this process, A's and B's database backends, the rest of the machine. */
  cpuPerUpdateMs: number[];
  achievedPerSecond: number;
}

export interface BurstRow {
  room: string;
  sent: number;
  readersOn: string;
  updates: number;
  sendMs: number;
  /** Until the last reader had the last update. */
  lastMs: number;
  receivedPerSecond: number;
  /** CPU ms over the burst: A, B, this process, A's and B's database backends, the rest of the machine. */
  cpuMs: number[];
}

export interface JoinResult {
  trials: number;
  syncedMs: number[];
  seenMs: number[];
  /** Trials where the joiner's `synced` came before the edit did. */
  seenAfterSynced: number;
  /** Trials where the database still lacked the edit once the joiner had it. */
  uncommittedWhenSeen: number;
}

const ms = (v: number): string => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '–');
const pad = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 8)).join('  ');

/** Log rows per update of each measured room, read once every server has stopped (and flushed). */
export type RowsPerUpdate = Map<string, number>;

/** Per server (A, B, A′): updates stored for another process, keyed rows found stored already. */
export interface StoresInPlace {
  inPlace: number;
  skipped: number;
}

export function report(
  header: { run: string; schema: string; quick: boolean; plan: FanoutPlan; slowCommitMs: number },
  latencyResult: LatencyResult,
  bursts: BurstRow[],
  joined: JoinResult,
  stored: RowsPerUpdate,
  storesInPlace: Array<StoresInPlace | null>,
  elapsedS: number,
): void {
  const { run, schema, quick, plan, slowCommitMs } = header;
  const { updates, perSecond } = plan.latency;
  console.log('');
  console.log(`bench:fanout ${quick ? 'quick' : 'full'} run ${run}: servers A, B (and A′) on schema ${schema}, one Redis; ${elapsedS.toFixed(0)} s`);
  console.log('');
  console.log(`1. delivery latency: writer on A, ${updates} updates at ${perSecond}/s (achieved ${latencyResult.achievedPerSecond.toFixed(0)}/s), ${plan.readers} readers on each`);
  const w1 = [20, 8, 8, 8, 11, 8];
  console.log(pad(['readers on', 'p50 ms', 'p99 ms', 'max ms', 'deliveries', 'skipped'], w1));
  for (const r of latencyResult.rows) {
    console.log(pad([r.readersOn, ms(r.p50Ms), ms(r.p99Ms), ms(r.maxMs), String(r.deliveries), String(r.skipped)], w1));
  }
  const [cpuA, cpuB, cpuBench, cpuDb, cpuOther] = latencyResult.cpuPerUpdateMs.map((v) => (Number.isNaN(v) ? '–' : (v * 1000).toFixed(0)));
  console.log(`   CPU per update: A ${cpuA} µs, B ${cpuB} µs, clients (this process) ${cpuBench} µs, database for A and B ${cpuDb} µs, rest of the machine ${cpuOther} µs`);
  console.log(`   log rows stored per update: ${(stored.get(latencyResult.room) ?? NaN).toFixed(2)}`);
  console.log('');
  console.log(`2. burst: writer on A sends ${plan.burst.updates} updates in chunks of ${plan.burst.chunk}, ${plan.readers} readers`);
  const w2 = [20, 9, 10, 12, 12, 40];
  console.log(pad(['readers on', 'sent ms', 'all in ms', 'received/s', 'rows/update', 'CPU ms A / B / clients / database / rest'], w2));
  for (const r of bursts) {
    const cpu = r.cpuMs.map((v) => (Number.isNaN(v) ? '–' : v.toFixed(0))).join(' / ');
    const rows = (stored.get(r.room) ?? NaN).toFixed(2);
    console.log(pad([r.readersOn, r.sendMs.toFixed(0), r.lastMs.toFixed(0), r.receivedPerSecond.toFixed(0), rows, cpu], w2));
  }
  console.log('');
  console.log(`3. join on B of a session A′ holds with an uncommitted edit (COMMIT_INTERVAL_MS=${slowCommitMs}), ${joined.trials} trials`);
  const w3 = [20, 8, 8];
  console.log(pad(['joiner on B', 'p50 ms', 'max ms'], w3));
  console.log(pad(['synced', ms(median(joined.syncedMs)), ms(percentile(joined.syncedMs, 100))], w3));
  console.log(pad(['sees the edit', ms(median(joined.seenMs)), ms(percentile(joined.seenMs, 100))], w3));
  console.log(`   edit seen after synced: ${joined.seenAfterSynced}/${joined.trials}; database still without it when seen: ${joined.uncommittedWhenSeen}/${joined.trials}`);
  const names = ['A', 'B', 'A′'];
  const inPlace = storesInPlace.map((s, i) => `${names[i] ?? i} ${s ? `${s.inPlace} / ${s.skipped}` : '–'}`).join(', ');
  console.log(`   updates stored in another process's place / keyed rows found stored already: ${inPlace}`);
  const rowsPerUpdate = Object.fromEntries(stored);
  console.log(JSON.stringify({ bench: 'fanout', run, quick, latency: latencyResult, bursts, join: joined, rowsPerUpdate, storesInPlace }));
}

