/**
 * The loss pass an export runs before its first byte (`X-Annosync-Loss` precedes the body): how
 * long it takes in one piece (`exportLoss`), and, run in slices as the export routes run it
 * (`finishInSlices(exportLossSteps(…))`), the longest the event loop waits between two turns. The
 * session is track-heavy: 9 tracks over 100 000 frames, 900 000 boxes once interpolated.
 *
 *   npx tsx bench/loss-pass.ts [--frames 100000] [--runs 2]
 */
import { exportLoss, exportLossSteps } from '../docs-model/formats/loss-pass.ts';
import type { SessionContent } from '../docs-model/formats/content.ts';
import type { Annotation, Track } from '../docs-model/types.ts';
import { finishInSlices } from '../server/base/loop-slices.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const frameCount = option('frames', 100_000);
const runs = option('runs', 2);

const tracks: Track[] = Array.from({ length: 9 }, (_, k) => ({ id: `t${k}`, label: 'car', attributes: {}, interpolation: 'linear' }));
const annotations: Annotation[] = tracks.flatMap((track, k) =>
  [0, frameCount - 1].map((frame, n) => ({
    id: `t${k}k${n}`, frame, bbox: [10 + k, 20, 30 + n * 50, 40] as [number, number, number, number], label: 'car', trackId: track.id,
    detectionId: null, attributes: {}, occluded: false, outside: false, status: 'draft' as const, source: 'manual' as const,
    createdBy: 'a', updatedBy: 'a', createdAt: 0, updatedAt: 0,
  })),
);
const content: SessionContent = { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount }, labels: {}, tracks, annotations };

/** The longest wait between two turns of the event loop while `body` runs. */
async function longestLoopGap(body: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 0);
  await body();
  clearInterval(tick);
  return longest;
}

for (const format of ['voc', 'yolo', 'mot'] as const) {
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    exportLoss(format, [content]);
    const whole = performance.now() - t0;
    const t1 = performance.now();
    const gap = await longestLoopGap(() => finishInSlices(exportLossSteps(format, [content])));
    const sliced = performance.now() - t1;
    console.log(`${format}: in one piece ${whole.toFixed(0)} ms; in slices ${sliced.toFixed(0)} ms, the loop waited at most ${gap.toFixed(1)} ms`);
  }
}
