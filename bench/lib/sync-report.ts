/**
 * The table of bench/sync.ts: one row per scenario of bench/lib/sync-scenarios.ts, annosync beside the
 * reference, their ratio and the target; context rows (prefixed ·) explain the others. Where
 * the floor ran (bench/lib/sync-floor.ts: the fan-out, the throughput, the opening), its ratio to the
 * reference too: the best any server could show in that run (for the initial sync, worked out
 * from the joiner's own time after the state arrived).
 *
 *   const rows = tableRows({ annosync, reference });
 *   printTable(rows);
 */
import type { CpuWindow, FanOutResult, OpenManyResult, ReconnectResult, ThroughputResult } from './sync-scenarios.ts';
import type { RssResult } from './rss-scenario.ts';

export interface InitialSyncSummary {
  annotations: number;
  stateBytes: number;
  syncedMs: number;
  receivedMs: number;
  samples: number[];
}

export interface ServerResults {
  fanOut: FanOutResult[];
  throughput?: ThroughputResult;
  initialSync?: InitialSyncSummary;
  reconnect?: ReconnectResult;
  rss?: RssResult;
  openMany?: OpenManyResult;
  /** Right after the server printed its ready line, before any client: RSS and spawn → ready. */
  start?: { rssBytes: number; ms: number };
}

interface Row {
  name: string;
  unit: string;
  pick: (r: ServerResults) => number | null | undefined;
  /** 'max': the ratio must be ≤ ratio; 'min': ≥ ratio. */
  target?: { kind: 'max' | 'min'; ratio: number };
  /** Where the relay cannot run the scenario: the floor's figure worked out from annosync's own results. */
  floor?: (r: ServerResults) => number | null | undefined;
}

export interface TableRow {
  scenario: string;
  annosync: number | null;
  reference: number | null;
  ratio: number | null;
  /** The floor's figure over the reference's, where it ran. */
  floor: number | null;
  target: string | null;
  met: boolean | null;
}

const fan = (r: ServerResults, clients: number): FanOutResult | undefined => r.fanOut.find((f) => f.clients === clients);
const busy = (w: CpuWindow | undefined, part: 'serverCpuMs' | 'clientCpuMs' | 'otherCpuMs'): number | undefined =>
  w === undefined ? undefined : (100 * w[part]) / w.elapsedMs;
const perDelivery = (w: (CpuWindow & { deliveries: number }) | undefined): number | undefined =>
  w === undefined ? undefined : (w.serverCpuMs * 1000) / w.deliveries;

const ROWS: Row[] = [
  ...[2, 10, 50].flatMap((n): Row[] => [
    { name: `fan-out p50, ${n} clients`, unit: 'ms', pick: (r) => fan(r, n)?.p50Ms },
    {
      name: `fan-out p99, ${n} clients`,
      unit: 'ms',
      pick: (r) => fan(r, n)?.p99Ms,
      ...(n === 50 ? { target: { kind: 'max' as const, ratio: 0.8 } } : {}),
    },
  ]),
  { name: 'throughput, 100 docs × 2 clients', unit: 'deliveries/s', pick: (r) => r.throughput?.perSecond, target: { kind: 'min', ratio: 1.2 } },
  { name: 'server CPU per delivery (fan-out 50)', unit: 'µs', pick: (r) => perDelivery(fan(r, 50)), target: { kind: 'max', ratio: 0.8 } },
  { name: 'server CPU per delivery (fan-out 10)', unit: 'µs', pick: (r) => perDelivery(fan(r, 10)), target: { kind: 'max', ratio: 1.0 } },
  { name: 'delivery p99 under that throughput', unit: 'ms', pick: (r) => r.throughput?.p99Ms, target: { kind: 'max', ratio: 1.0 } },
  {
    name: 'initial sync, 10 000 annotations',
    unit: 'ms',
    pick: (r) => r.initialSync?.syncedMs,
    target: { kind: 'max', ratio: 0.7 },
    // A server that answered at once: what is left is the joiner's own time after the state
    // arrived (synced − received), which no server can shorten.
    floor: (r) => (r.initialSync === undefined ? undefined : r.initialSync.syncedMs - r.initialSync.receivedMs),
  },
  { name: 'reconnect, 200 clients / 20 docs', unit: 'ms', pick: (r) => r.reconnect?.ms, target: { kind: 'max', ratio: 1.0 } },
  {
    name: 'RSS per loaded 100-annotation doc',
    unit: 'KiB',
    // A document cannot take negative memory: RSS that fell while they loaded means a collection
    // of earlier garbage landed inside the measurement, which then says nothing (no ratio, not met).
    pick: (r) => (r.rss === undefined || r.rss.bytesPerDoc <= 0 ? undefined : r.rss.bytesPerDoc / 1024),
    target: { kind: 'max', ratio: 1.0 },
  },
  { name: 'opening documents at once', unit: 'ms', pick: (r) => r.openMany?.ms, target: { kind: 'max', ratio: 1.2 } },
  { name: 'server RSS at start', unit: 'MiB', pick: (r) => (r.start === undefined ? undefined : r.start.rssBytes / 2 ** 20) },
  { name: '· server start, spawn → listening', unit: 'ms', pick: (r) => r.start?.ms },
  { name: '· server CPU while opening documents', unit: 'ms', pick: (r) => r.openMany?.serverCpuMs },
  { name: '· connections dropped, listen queue full (opening)', unit: 'conns', pick: (r) => r.openMany?.listenOverflows },
  { name: '· initial sync: state received', unit: 'ms', pick: (r) => r.initialSync?.receivedMs },
  { name: '· server CPU per delivery (throughput)', unit: 'µs', pick: (r) => perDelivery(r.throughput) },
  { name: '· server CPU busy (throughput)', unit: '%', pick: (r) => busy(r.throughput, 'serverCpuMs') },
  { name: '· bench-process CPU busy (throughput)', unit: '%', pick: (r) => busy(r.throughput, 'clientCpuMs') },
  { name: '· bench-process CPU busy (fan-out 50)', unit: '%', pick: (r) => busy(fan(r, 50), 'clientCpuMs') },
  { name: '· other processes CPU busy (fan-out 50)', unit: '%', pick: (r) => busy(fan(r, 50), 'otherCpuMs') },
  { name: '· other processes CPU busy (throughput)', unit: '%', pick: (r) => busy(r.throughput, 'otherCpuMs') },
  { name: '· server CPU per reconnect round', unit: 'ms', pick: (r) => r.reconnect?.serverCpuMs },
  { name: '· RSS after all clients left', unit: 'MiB', pick: (r) => (r.rss === undefined ? undefined : r.rss.rssAfterLeaveBytes / 2 ** 20) },
  { name: '· docs loaded with 1 client each (/health)', unit: 'docs', pick: (r) => r.rss?.documentsLoaded },
  { name: '· docs loaded after all left (/health)', unit: 'docs', pick: (r) => r.rss?.documentsAfterLeave },
];

export function tableRows(results: { annosync?: ServerResults | undefined; reference?: ServerResults | undefined; floor?: ServerResults | undefined }): TableRow[] {
  const of = (r: ServerResults | undefined, row: Row): number | null => (r === undefined ? null : (row.pick(r) ?? null));
  const over = (a: number | null, r: number | null): number | null =>
    a !== null && r !== null && r !== 0 && !Number.isNaN(a) && !Number.isNaN(r) ? a / r : null;
  return ROWS.map((row) => {
    const a = of(results.annosync, row);
    const r = of(results.reference, row);
    const ratio = over(a, r);
    const floor = over(row.floor === undefined ? of(results.floor, row) : results.annosync === undefined ? null : (row.floor(results.annosync) ?? null), r);
    let met: boolean | null = null;
    if (row.target !== undefined && ratio !== null) met = row.target.kind === 'max' ? ratio <= row.target.ratio : ratio >= row.target.ratio;
    const target = row.target === undefined ? null : `${row.target.kind === 'max' ? '≤' : '≥'} ${row.target.ratio}×`;
    return { scenario: `${row.name} (${row.unit})`, annosync: a, reference: r, ratio, floor, target, met };
  });
}

function format(v: number | null): string {
  if (v === null || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * One table for annosync on Postgres and on PGlite against the same reference run: each ratio to
 * the reference, and PGlite's figure over Postgres's.
 */
export function printCombinedTable(postgres: readonly TableRow[], pglite: readonly TableRow[], write: (line: string) => void = console.log): void {
  const ratio = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)}×`);
  const cells = [
    ['scenario', 'reference', 'postgres', 'ratio', 'pglite', 'ratio', 'pglite/pg', 'floor', 'target (ratio to reference)'],
    ...postgres.map((pg, i) => {
      const lite = pglite[i];
      const over = lite?.annosync != null && pg.annosync != null && pg.annosync !== 0 ? lite.annosync / pg.annosync : null;
      const met = (row: TableRow | undefined): string => (row?.met === null || row === undefined ? '' : row.met ? 'met' : 'NOT met');
      return [
        pg.scenario,
        format(pg.reference),
        format(pg.annosync),
        ratio(pg.ratio),
        format(lite?.annosync ?? null),
        ratio(lite?.ratio ?? null),
        ratio(over),
        ratio(pg.floor),
        pg.target === null ? '' : `${pg.target}: pg ${met(pg)}, pglite ${met(lite)}`,
      ];
    }),
  ];
  writeCells(cells, write);
}

function writeCells(cells: string[][], write: (line: string) => void): void {
  const widths = (cells[0] ?? []).map((_, c) => Math.max(...cells.map((line) => (line[c] ?? '').length)));
  const line = (values: string[]): string =>
    values.map((v, c) => (c === 0 ? v.padEnd(widths[c] ?? 0) : v.padStart(widths[c] ?? 0))).join(' | ');
  write(line(cells[0] ?? []));
  write(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const values of cells.slice(1)) write(line(values));
}

export function printTable(rows: readonly TableRow[], write: (line: string) => void = console.log): void {
  const cells = [
    ['scenario', 'annosync', 'reference', 'ratio', 'floor', 'target'],
    ...rows.map((row) => [
      row.scenario,
      format(row.annosync),
      format(row.reference),
      row.ratio === null ? '–' : `${row.ratio.toFixed(2)}×`,
      row.floor === null ? '–' : `${row.floor.toFixed(2)}×`,
      row.target === null ? '' : `${row.target}${row.met === null ? '' : row.met ? ' met' : ' NOT met'}`,
    ]),
  ];
  writeCells(cells, write);
}

/** One run's rows per database annosync ran on (`--both`: both; otherwise the one it used). */
export type RunRows = Partial<Record<'postgres' | 'pglite', readonly TableRow[]>>;

/**
 * The main rows (not the `·` details) over several runs (`--runs N`): each run's ratio to the
 * reference, per database, the PGlite / Postgres figure per run when both ran, and for a row with
 * a target in how many runs each database met it. One run is ±20 % on this kind of machine; a goal
 * counts as met when it holds in every run.
 */
export function printRunsSummary(runs: readonly RunRows[], write: (line: string) => void = console.log): void {
  const dbs = (['postgres', 'pglite'] as const).filter((db) => runs.every((run) => run[db] !== undefined));
  if (dbs.length === 0) {
    write('annosync did not run in every run: no ratios to sum up');
    return;
  }
  const both = dbs.length === 2;
  const first = runs[0]?.[dbs[0] ?? 'postgres'] ?? [];
  const joined = (values: Array<number | null>): string => values.map((v) => (v === null ? '–' : v.toFixed(2))).join(', ');
  // Runs saved before the floor existed have none.
  const floored = runs.some((run) => run[dbs[0] ?? 'postgres']?.some((row) => row.floor != null));
  const cells = [
    ['scenario', ...dbs.map((db) => `${db}: ratio per run`), ...(both ? ['pglite/pg per run'] : []), ...(floored ? ['floor per run'] : []), 'target', 'met in'],
    ...first.flatMap((row, i) => {
      if (row.scenario.startsWith('·')) return [];
      const of = (db: 'postgres' | 'pglite'): Array<TableRow | undefined> => runs.map((run) => run[db]?.[i]);
      // Counted over the runs that measured the row (a scenario left out has no ratio).
      const metIn = (db: 'postgres' | 'pglite'): string => {
        const measured = of(db).filter((r) => r?.met != null);
        return measured.length === 0 ? '' : `${db} ${measured.filter((r) => r?.met === true).length}/${measured.length}`;
      };
      const over = runs.map((run) => {
        const pg = run.postgres?.[i]?.annosync ?? null;
        const lite = run.pglite?.[i]?.annosync ?? null;
        return pg === null || lite === null || pg === 0 ? null : lite / pg;
      });
      const floor = floored ? [joined(of(dbs[0] ?? 'postgres').map((r) => r?.floor ?? null))] : [];
      return [[row.scenario, ...dbs.map((db) => joined(of(db).map((r) => r?.ratio ?? null))), ...(both ? [joined(over)] : []), ...floor, row.target ?? '', dbs.map(metIn).filter(Boolean).join(', ')]];
    }),
  ];
  writeCells(cells, write);
}
