/**
 * Linear sum assignment as scipy's `linear_sum_assignment` computes it: a port of
 * scipy/optimize/rectangular_lsap/rectangular_lsap.cpp (BSD-3-Clause; the shortest augmenting path
 * of D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE TAES 2016).
 *
 *   linearSumAssignment(Float64Array.from([4, 1, 3, 2, 0, 5]), 2, 3) // → [[0, 1], [1, 0]]
 *
 * Why a port and not a package: py-motmetrics and TrackEval both solve with scipy, and when several
 * assignments have the same cost (two objects on the same box, whole-pixel boxes) the one scipy
 * returns decides which id is matched, hence the identity switches, MOTA and HOTA that follow.
 * npm's Hungarian implementations (munkres, munkres-js, linear-sum-assignment) find an optimum
 * too, but not scipy's among equal ones: with them 12 of 240 reference sequences differed
 * (test/fixtures/tracking/README.md). The port keeps scipy's order of rows, of remaining columns
 * (filled in reverse), its preference for an unassigned column among equal path costs, and the
 * transposition of tall matrices.
 */
export type Pair = [row: number, col: number];

/** Row-major costs; every entry finite. Pairs ordered by row, min(rows, cols) of them. */
export function linearSumAssignment(input: Float64Array, rows: number, cols: number): Pair[] {
  if (rows === 0 || cols === 0) return [];
  const transpose = cols < rows;
  let cost = input;
  let nr = rows;
  let nc = cols;
  if (transpose) {
    cost = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) cost[j * rows + i] = input[i * cols + j]!;
    nr = cols;
    nc = rows;
  }
  const u = new Float64Array(nr);
  const v = new Float64Array(nc);
  const shortest = new Float64Array(nc);
  const path = new Int32Array(nc).fill(-1);
  const col4row = new Int32Array(nr).fill(-1);
  const row4col = new Int32Array(nc).fill(-1);
  const sr = new Uint8Array(nr);
  const sc = new Uint8Array(nc);
  const remaining = new Int32Array(nc);

  for (let curRow = 0; curRow < nr; curRow++) {
    // augmenting_path
    let minVal = 0;
    let left = nc;
    // Reverse order: a constant matrix gives the identity (scipy issue #11602).
    for (let it = 0; it < nc; it++) remaining[it] = nc - it - 1;
    sr.fill(0);
    sc.fill(0);
    shortest.fill(Infinity);
    let sink = -1;
    let i = curRow;
    while (sink === -1) {
      let index = -1;
      let lowest = Infinity;
      sr[i] = 1;
      for (let it = 0; it < left; it++) {
        const j = remaining[it]!;
        const r = minVal + cost[i * nc + j]! - u[i]! - v[j]!;
        if (r < shortest[j]!) {
          path[j] = i;
          shortest[j] = r;
        }
        // Among equal costs, a column that ends the path.
        if (shortest[j]! < lowest || (shortest[j] === lowest && row4col[j] === -1)) {
          lowest = shortest[j]!;
          index = it;
        }
      }
      minVal = lowest;
      if (minVal === Infinity) throw new RangeError('cost matrix is infeasible');
      const j = remaining[index]!;
      if (row4col[j] === -1) sink = j;
      else i = row4col[j]!;
      sc[j] = 1;
      remaining[index] = remaining[--left]!;
    }
    // Dual variables.
    u[curRow]! += minVal;
    for (let r = 0; r < nr; r++) if (sr[r] && r !== curRow) u[r]! += minVal - shortest[col4row[r]!]!;
    for (let c = 0; c < nc; c++) if (sc[c]) v[c]! -= minVal - shortest[c]!;
    // Augment.
    let j = sink;
    for (;;) {
      const r = path[j]!;
      row4col[j] = r;
      const prev = col4row[r]!;
      col4row[r] = j;
      j = prev;
      if (r === curRow) break;
    }
  }
  const out: Pair[] = [];
  if (transpose) {
    // scipy: argsort of col4row, so pairs come out ordered by the original row.
    const order = Array.from(col4row.keys()).sort((a, b) => col4row[a]! - col4row[b]!);
    for (const k of order) out.push([col4row[k]!, k]);
  } else {
    for (let r = 0; r < nr; r++) out.push([r, col4row[r]!]);
  }
  return out;
}

/**
 * py-motmetrics' `lsa_solve_scipy`: forbidden pairs (NaN) priced above any assignment of allowed
 * ones (`lap.add_expensive_edges`), solved, and the forbidden pairs dropped. The result has as many
 * allowed pairs as possible, then the least cost.
 */
export function minCostAssignment(costs: Float64Array, rows: number, cols: number): Pair[] {
  let valid = 0;
  let c = 0;
  for (let k = 0; k < costs.length; k++) {
    if (Number.isNaN(costs[k]!)) continue;
    valid++;
    c = Math.max(c, Math.abs(costs[k]!));
  }
  if (valid === 0) return [];
  let finite = costs;
  if (valid < costs.length) {
    const expensive = 2 * Math.min(rows, cols) * (c + 1) + 1;
    finite = Float64Array.from(costs, (x) => (Number.isNaN(x) ? expensive : x));
  }
  return linearSumAssignment(finite, rows, cols).filter(([i, j]) => !Number.isNaN(costs[i * cols + j]!));
}

/** TrackEval's `linear_sum_assignment(-score)`: the greatest total score, pairs of score ≤ 0 left out. */
export function maxScoreAssignment(scores: Float64Array, rows: number, cols: number): Pair[] {
  let any = false;
  for (let k = 0; k < scores.length && !any; k++) any = scores[k]! > 0;
  if (!any) return [];
  return linearSumAssignment(scores.map((s) => -s), rows, cols).filter(([i, j]) => scores[i * cols + j]! > 0);
}

/** Entries of a sparse matrix: row, column and value of each (rows and columns are small integers). */
export interface SparseEntries {
  rows: number[];
  cols: number[];
  values: number[];
}

/**
 * Solves a sparse problem component by component: rows and columns linked by entries form a
 * component, each is solved as a dense matrix (rows and columns in ascending order, `fill` where no
 * entry is) and the answers are joined, ordered by row. The optimum of the whole is the union of
 * the components' optima; a frame's boxes overlap only their neighbours, so the cubic solver sees a
 * few boxes at a time instead of the whole frame.
 */
export function solveByComponents(entries: SparseEntries, fill: number, solve: (m: Float64Array, rows: number, cols: number) => Pair[]): Pair[] {
  const n = entries.rows.length;
  if (n === 0) return [];
  let rowsN = 0;
  let colsN = 0;
  for (let e = 0; e < n; e++) {
    rowsN = Math.max(rowsN, entries.rows[e]! + 1);
    colsN = Math.max(colsN, entries.cols[e]! + 1);
  }
  // Union-find over rows (0 … rowsN − 1) and columns (rowsN …).
  const parent = new Int32Array(rowsN + colsN);
  for (let k = 0; k < parent.length; k++) parent[k] = k;
  const find = (k: number): number => {
    while (parent[k] !== k) {
      parent[k] = parent[parent[k]!]!;
      k = parent[k]!;
    }
    return k;
  };
  for (let e = 0; e < n; e++) {
    const ra = find(entries.rows[e]!);
    const rb = find(rowsN + entries.cols[e]!);
    if (ra !== rb) parent[ra] = rb;
  }
  const groups = new Map<number, number[]>();
  for (let e = 0; e < n; e++) {
    const root = find(entries.rows[e]!);
    const list = groups.get(root);
    if (list) list.push(e);
    else groups.set(root, [e]);
  }
  const out: Pair[] = [];
  for (const list of groups.values()) {
    if (list.length === 1) {
      // One allowed pair alone: every solver takes it.
      out.push([entries.rows[list[0]!]!, entries.cols[list[0]!]!]);
      continue;
    }
    const rows = [...new Set(list.map((e) => entries.rows[e]!))].sort((a, b) => a - b);
    const cols = [...new Set(list.map((e) => entries.cols[e]!))].sort((a, b) => a - b);
    const rowAt = new Map(rows.map((r, k) => [r, k]));
    const colAt = new Map(cols.map((c, k) => [c, k]));
    const m = new Float64Array(rows.length * cols.length).fill(fill);
    for (const e of list) m[rowAt.get(entries.rows[e]!)! * cols.length + colAt.get(entries.cols[e]!)!] = entries.values[e]!;
    for (const [i, j] of solve(m, rows.length, cols.length)) out.push([rows[i]!, cols[j]!]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Frames of at most this many box pairs are solved as one dense matrix, exactly as py-motmetrics and
 * TrackEval pass them to scipy; larger ones by components. Both give an optimal assignment; they
 * can differ only among assignments of exactly equal cost, where scipy's choice depends on the
 * columns outside a component too (the reference fixtures have such ties: two objects on identical
 * boxes). 1 024 pairs is a 32 × 32 frame, solved in well under a millisecond.
 */
export const DENSE_LIMIT = 1024;

/** How a frame is solved: the value of a pair the entries leave out, and the assignment over a dense matrix. */
export interface FrameSolver {
  fill: number;
  solve: (m: Float64Array, rows: number, cols: number) => Pair[];
}

/** The frame's assignment: dense up to DENSE_LIMIT pairs, by components past it. */
export function solveFrame(entries: SparseEntries, { rows, cols }: { rows: number; cols: number }, { fill, solve }: FrameSolver): Pair[] {
  if (entries.rows.length === 0) return [];
  if (rows * cols > DENSE_LIMIT) return solveByComponents(entries, fill, solve);
  const m = new Float64Array(rows * cols).fill(fill);
  for (let e = 0; e < entries.rows.length; e++) m[entries.rows[e]! * cols + entries.cols[e]!] = entries.values[e]!;
  return solve(m, rows, cols);
}
