/**
 * Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned.
 *
 *   formatTable(['label', 'ap50'], [['car', 0.71]]) // 'label  ap50\ncar    0.7100'
 */

export type Cell = string | number;

const show = (c: Cell): string => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(4)) : c);

export function formatTable(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(show))];
  const widths = headers.map((_, k) => Math.max(...cells.map((r) => (r[k] ?? '').length)));
  const numeric = headers.map((_, k) => rows.length > 0 && rows.every((r) => typeof r[k] === 'number'));
  return cells.map((r) => r.map((c, k) => (numeric[k] ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd()).join('\n');
}

/** A signed number for deltas: +0.0120, -0.0340, 0. */
export const signed = (v: number): string => (v === 0 ? '0' : `${v > 0 ? '+' : ''}${Number.isInteger(v) ? v : v.toFixed(4)}`);
