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
