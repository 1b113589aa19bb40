/**
 * The part of an Ultralytics `data.yaml` an import needs: `names` as a block list, a flow list
 * (`[a, b]`, also over several lines as YOLOv5's dataset files write it) or an index map
 * (`0: a`), and the split paths. Blank lines and comments inside a `names` block do not end it.
 * Not a YAML parser: anchors, tags and multi-line scalars are not used by these files.
 *
 *   readDataYaml('names:\n  0: person\n  1: car\n').names // ['person', 'car']
 */
export interface DataYaml {
  names: string[] | null;
  /** `train`, `val`, `test` and `path` values as written. */
  paths: Record<string, string>;
  /** `name: line` for names that could not be read. */
  problems: { line: number; message: string }[];
}

const scalar = (raw: string): string => {
  const s = raw.trim();
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return s.slice(1, -1);
    }
  }
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s.replace(/\s+#.*$/, '');
};

const splitFlow = (inner: string): string[] => {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const c of inner) {
    if (quote) {
      cur += c;
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out.map(scalar);
};

export const readDataYaml = (text: string): DataYaml => {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const paths: Record<string, string> = {};
  const problems: DataYaml['problems'] = [];
  let names: string[] | null = null;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!.replace(/\s+$/, '');
    const top = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line);
    if (!top) continue;
    const [, key, rest] = top as unknown as [string, string, string];
    if (key !== 'names') {
      if (rest && !rest.startsWith('#')) paths[key] = scalar(rest);
      continue;
    }
    if (rest.startsWith('[') || rest.startsWith('{')) {
      const close = rest[0] === '[' ? ']' : '}';
      let flow = rest;
      // A flow collection may continue on the following lines until its closing bracket.
      while (!flowClosed(flow, close) && k + 1 < lines.length) flow += ' ' + lines[++k]!.replace(/\s+#[^'"]*$/, '').trim();
      const end = flow.lastIndexOf(close);
      const inner = flow.slice(1, end < 0 ? undefined : end);
      if (close === ']') {
        names = splitFlow(inner);
        continue;
      }
      const map = new Map<number, string>();
      for (const pair of splitFlow(inner)) {
        const m = /^(\d+)\s*:\s*(.*)$/.exec(pair);
        if (m) map.set(Number(m[1]), scalar(m[2]!));
        else problems.push({ line: k + 1, message: `"${pair}" is not index: name` });
      }
      names = denseNames(map, k + 1, problems);
      continue;
    }
    const list: string[] = [];
    const map = new Map<number, string>();
    while (k + 1 < lines.length && inBlock(lines, k + 1)) {
      const item = lines[++k]!.trim();
      if (!item || item.startsWith('#')) continue;
      const dash = /^-\s*(.*)$/.exec(item);
      const pair = /^(\d+)\s*:\s*(.*)$/.exec(item);
      if (dash) list.push(scalar(dash[1]!));
      else if (pair) map.set(Number(pair[1]), scalar(pair[2]!));
      else problems.push({ line: k + 1, message: `"${item}" is neither "- name" nor "index: name"` });
    }
    names = map.size ? denseNames(map, k + 1, problems) : list;
  }
  return { names, paths, problems };
};

/** True when the flow text ends with its closing bracket (a trailing comment aside). */
const flowClosed = (flow: string, close: string): boolean => (close === ']' ? /\]\s*(#.*)?$/ : /\}\s*(#.*)?$/).test(flow);

/**
 * Whether line `k` still belongs to a block under `names:`: an indented or `- ` line does; a blank
 * line or a comment does when the block goes on after it (hand-edited files group their classes).
 */
const inBlock = (lines: string[], k: number): boolean => {
  for (let j = k; j < lines.length; j++) {
    const line = lines[j]!;
    if (/^\s*(#.*)?$/.test(line)) continue;
    return /^(\s+|-)/.test(line);
  }
  return false;
};

const denseNames = (map: Map<number, string>, line: number, problems: DataYaml['problems']): string[] => {
  const out: string[] = [];
  for (let i = 0; i < map.size; i++) {
    const n = map.get(i);
    if (n === undefined) {
      problems.push({ line, message: `names has no index ${i}` });
      break;
    }
    out.push(n);
  }
  return out;
};
