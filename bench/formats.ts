/**
 * Format converter numbers: `npx tsx bench/formats.ts`.
 * - COCO export and import of a 10 000-annotation session (targets < 100 ms / < 500 ms).
 * - Each format's export of 100 tracks × 9 000 frames = 900 000 interpolated boxes
 *   (target < 10 s each, RSS < 200 MB); chunks are counted and dropped, as a response would.
 */
import { execFileSync } from 'node:child_process';
import { formats, type FormatName } from '../docs-model/formats/index.ts';
import type { SessionContent } from '../docs-model/formats/content.ts';
import { emptyLoss, lossSummary } from '../docs-model/formats/loss.ts';
import { collect, zipChunks } from '../docs-model/formats/zip-writer.ts';
import { zipChunksNative } from '../server/http/zip-writer.ts';
import type { Annotation } from '../docs-model/types.ts';

const meta = { sessionId: 's', projectId: 'p', videoId: 'v', width: 1920, height: 1080, fps: 25, frameCount: 1000 };
const ann = (id: string, frame: number, bbox: Annotation['bbox'], trackId: string | null): Annotation => ({
  id, frame, bbox, label: ['car', 'person', 'bike'][frame % 3]!, trackId, detectionId: null, attributes: {}, occluded: false, outside: false,
  status: 'validated', source: 'manual', createdBy: 'alice', updatedBy: 'alice', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000,
});
const labels = { car: {}, person: {}, bike: {} };
const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const out = fn();
  return [out, performance.now() - t];
};
const best = (runs: number, fn: () => unknown): number => Math.min(...Array.from({ length: runs }, () => time(fn)[1]));
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

function runSmall(): void {
const small: SessionContent = {
  meta, labels, tracks: [],
  annotations: Array.from({ length: 10_000 }, (_, k) => ann(`a${k}`, k % 1000, [(k * 7) % 1800, (k * 13) % 1000, 40.5, 60.25], null)),
};
const cocoBytes = collect(formats.coco.export(small, {}, { loss: emptyLoss('coco') }));
const exportMs = best(5, () => collect(formats.coco.export(small, {}, { loss: emptyLoss('coco') })));
const importMs = best(5, () => formats.coco.parse(cocoBytes, { meta, labels }));
const check = formats.coco.parse(cocoBytes, { meta, labels });
console.log(`COCO 10 000 annotations: export ${exportMs.toFixed(1)} ms (target < 100), import ${importMs.toFixed(1)} ms (target < 500), ${(cocoBytes.length / 1024).toFixed(0)} KiB, ${check.content.annotations.length} imported, ${check.errors.length} errors`);

}

const annotations: Annotation[] = [];
for (let t = 0; t < 100; t++) for (let f = 0; f < 9000; f += 300) annotations.push(ann(`t${t}k${f}`, f, [(t * 17 + f / 10) % 1800, (t * 9) % 1000, 60, 40], `t${t}`));
const big: SessionContent = {
  meta: { ...meta, frameCount: 9000 }, labels,
  tracks: Array.from({ length: 100 }, (_, t) => ({ id: `t${t}`, label: 'car', attributes: {}, interpolation: 'linear' as const })),
  annotations,
};
const exportOne = (name: FormatName): void => {
  const loss = emptyLoss(name);
  const startRss = process.memoryUsage().rss;
  let chunks = 0;
  let bytes = 0;
  let peak = process.memoryUsage().rss;
  const [, ms] = time(() => {
    for (const c of formats[name].export(big, {}, { loss, zip: encoder })) {
      bytes += c.length;
      if (++chunks % 200 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
  });
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`  ${name.padEnd(11)} ${(ms / 1000).toFixed(2)} s (target < 10), ${chunks} chunks, ${mb(bytes)} out, peak RSS ${mb(peak)} (target < 200 MB; ${mb(startRss)} at start), loss: ${lossSummary(loss)}`);
};

// Zips are encoded as the server does (node:zlib); --fflate measures the browser-safe encoder instead.
const useFflate = process.argv.includes('--fflate');
const encoder = useFflate ? zipChunks : zipChunksNative;

// Each big export runs in a fresh process, so one format's garbage does not count against the next.
const one = process.argv.find((a) => a.startsWith('--one='))?.slice(6) as FormatName | undefined;
if (one) exportOne(one);
else {
  runSmall();
  console.log(`100 tracks × 9 000 frames (${annotations.length} keyframes → 900 000 boxes), zips by ${useFflate ? 'fflate' : 'node:zlib'}, each in a fresh process:`);
  for (const name of ['coco', 'yolo', 'ultralytics', 'voc', 'json'] as FormatName[]) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, `--one=${name}`, ...(useFflate ? ['--fflate'] : [])]));
  }
}
