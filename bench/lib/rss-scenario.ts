/**
 * The memory scenario of bench/sync.ts: RSS per loaded document, and whether documents leave
 * memory once their clients are gone.
 */
import * as Y from 'yjs';
import { closeClient, waitForDoc } from './clients.ts';
import { addAnnotations, annotationCount } from './session-fixture.ts';
import { readHealth, readRssBytes } from './server-process.ts';
import type { BenchServer } from './server-process.ts';
import { openSynced } from './sync-scenarios.ts';

export interface RssResult {
  docs: number;
  rssBeforeBytes: number;
  rssLoadedBytes: number;
  bytesPerDoc: number;
  /** After every client left (and annosync reported its documents unloaded, or the wait ran out). */
  rssAfterLeaveBytes: number;
  documentsBefore: number | null;
  documentsLoaded: number | null;
  documentsAfterLeave: number | null;
  unloadMs: number | null;
}

/** Fence: once a new client is synced, the server has handled what the earlier sockets sent. */
async function fence(server: BenchServer, room: string): Promise<void> {
  const [probe] = await openSynced(server, [room]);
  if (probe !== undefined) closeClient(probe);
}

/** Bounded poll of annosync's /health until it reports at most `target` documents. */
async function awaitDocuments(server: BenchServer, target: number, timeoutMs: number): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  let last: number | null = null;
  for (;;) {
    const health = await readHealth(server);
    last = health?.documents ?? null;
    if (last === null || last <= target || performance.now() > deadline) return last;
    await new Promise<void>((resolve) => setTimeout(resolve, 200));
  }
}

/** One client per document, each bringing `annotations` annotations; RSS growth ÷ documents. */
export async function rssPerDoc(
  server: BenchServer,
  options: { roomPrefix: string; docs: number; annotations: number; idleWaitMs: number },
): Promise<RssResult> {
  // Documents of what ran before (the warm-up's 100) may still be loaded, waiting for their idle
  // unload: measured from there, their leaving would count against the new ones. So first wait
  // until the server holds none.
  await awaitDocuments(server, 0, options.idleWaitMs);
  await fence(server, `${options.roomPrefix}-fence-0`);
  const documentsBefore = (await readHealth(server))?.documents ?? null;
  const rssBeforeBytes = readRssBytes(server.pid);
  const rooms = Array.from({ length: options.docs }, (_, d) => `${options.roomPrefix}-${d}`);
  const docs = rooms.map((_, d) => {
    const doc = new Y.Doc();
    addAnnotations(doc, { count: options.annotations, seed: d + 1, prefix: 'a' });
    return doc;
  });
  const clients = await openSynced(server, rooms, docs);
  let rssLoadedBytes = 0;
  let documentsLoaded: number | null = null;
  try {
    // Verify each document reached the server, in chunks so the verifiers add little at once.
    for (let i = 0; i < rooms.length; i += 50) {
      const verifiers = await openSynced(server, rooms.slice(i, i + 50));
      try {
        await Promise.all(
          verifiers.map((v) => waitForDoc(v.doc, () => annotationCount(v.doc) === options.annotations, 'rss content')),
        );
      } finally {
        verifiers.forEach(closeClient);
      }
    }
    await fence(server, `${options.roomPrefix}-fence-1`);
    rssLoadedBytes = readRssBytes(server.pid);
    documentsLoaded = (await readHealth(server))?.documents ?? null;
  } finally {
    clients.forEach(closeClient);
  }
  await fence(server, `${options.roomPrefix}-fence-2`);
  const t0 = performance.now();
  const documentsAfterLeave =
    documentsBefore === null ? null : await awaitDocuments(server, documentsBefore, options.idleWaitMs);
  const unloadMs = documentsAfterLeave !== null && documentsBefore !== null && documentsAfterLeave <= documentsBefore
    ? performance.now() - t0
    : null;
  return {
    docs: options.docs,
    rssBeforeBytes,
    rssLoadedBytes,
    bytesPerDoc: (rssLoadedBytes - rssBeforeBytes) / options.docs,
    rssAfterLeaveBytes: readRssBytes(server.pid),
    documentsBefore,
    documentsLoaded,
    documentsAfterLeave,
    unloadMs,
  };
}
