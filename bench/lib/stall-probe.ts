/**
 * bench:stalls's probe in a worker thread of its own: two stock y-websocket clients on one
 * document, one writes a timestamped update every 10 ms, the other records send → receive. In the
 * bench's own event loop the probe measured the bench too: parsing a 2.5 MB bulk-create answer
 * there delayed the receiver 50-80 ms while the server's CPU profile showed it idle.
 *
 *   const probe = await startStallProbe(server, room); // both clients synced, stamps going
 *   const samples = await probe.stop();                // [{ sentAt, latencyMs }], absolute ms
 *
 * Stamps are absolute (performance.timeOrigin + performance.now()), the same clock in every thread.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { closeClient, openClient, waitSynced, type ServerAddress } from './clients.ts';
import { absoluteNow, sendStamp, watchStamps } from './stamps.ts';

const SEND_EVERY_MS = 10;

export interface ProbeSample {
  /** When the stamp was sent (absolute ms). */
  sentAt: number;
  /** The same instant on the monotonic clock, µs: where a server's --cpu-prof timeline puts it. */
  sentMonoUs: number;
  latencyMs: number;
}

type FromProbe = { type: 'ready' } | { type: 'samples'; samples: ProbeSample[] } | { type: 'error'; message: string };

export interface StallProbe {
  stop(): Promise<ProbeSample[]>;
}

export function startStallProbe(server: ServerAddress, room: string): Promise<StallProbe> {
  const address: ServerAddress = { kind: server.kind, host: server.host, port: server.port, serverUrl: server.serverUrl };
  // A worker thread does not take the bench's tsx loader: it loads this file through tsx's API.
  const boot = `import { tsImport } from 'tsx/esm/api'; await tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)});`;
  const worker = new Worker(boot, { eval: true, workerData: { server: address, room } });
  return new Promise((resolve, reject) => {
    let stopped: ((samples: ProbeSample[]) => void) | null = null;
    worker.on('error', reject);
    worker.on('message', (m: FromProbe) => {
      if (m.type === 'error') reject(new Error(`stall probe: ${m.message}`));
      else if (m.type === 'samples') stopped?.(m.samples);
      else
        resolve({
          stop: () =>
            new Promise((done) => {
              stopped = (samples) => {
                done(samples);
                void worker.terminate();
              };
              // A worker that died already has nothing to give: the bench still ends.
              worker.once('exit', () => done([]));
              worker.postMessage('stop');
            }),
        });
    });
  });
}

async function runProbe(server: ServerAddress, room: string): Promise<void> {
  const port = parentPort!;
  const [writer, reader] = [openClient(server, room), openClient(server, room)];
  await Promise.all([waitSynced(writer), waitSynced(reader)]);
  const sentAt: number[] = [];
  const sentMono: number[] = [];
  const samples: ProbeSample[] = [];
  // Every stamp a message carries is a sample: stamps that queued while the server was busy
  // arrive together, merged into one message (server/documents/update-batch.ts), and counting
  // only the newest of them hid the wait of all the others.
  watchStamps(reader, (delivered, seq, _latencyMs, arrivedAt) => {
    for (let k = seq - delivered + 1; k <= seq; k++) {
      const at = sentAt[k];
      if (at !== undefined) samples.push({ sentAt: at, sentMonoUs: sentMono[k]!, latencyMs: arrivedAt - at });
    }
  });
  let seq = 0;
  const timer = setInterval(() => {
    sentMono[seq] = Number(process.hrtime.bigint() / 1000n);
    sentAt[seq] = absoluteNow();
    sendStamp(writer, seq++);
  }, SEND_EVERY_MS);
  port.on('message', () => {
    clearInterval(timer);
    closeClient(writer);
    closeClient(reader);
    port.postMessage({ type: 'samples', samples } satisfies FromProbe);
  });
  port.postMessage({ type: 'ready' } satisfies FromProbe);
}

if (!isMainThread && parentPort) {
  const { server, room } = workerData as { server: ServerAddress; room: string };
  runProbe(server, room).catch((err: unknown) => parentPort!.postMessage({ type: 'error', message: String(err) } satisfies FromProbe));
}
