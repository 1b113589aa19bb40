/**
 * The process entry (`npm start`, `npm run dev`): holds the young generation at its first size
 * while the server's modules load and it starts (server/startup-heap.ts), then runs
 * server/start.ts. The server is imported dynamically so that it loads after the hold: a static
 * import, and every package it imports, would be evaluated before this module's first line (in the
 * build too, which keeps this entry in a chunk of its own, scripts/build.ts).
 */
import { holdYoungGeneration, releaseYoungGeneration } from './startup-heap.ts';

holdYoungGeneration();
try {
  const { start } = await import('./start.ts');
  await start(releaseYoungGeneration);
} catch (err) {
  process.stderr.write(`annosync failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
