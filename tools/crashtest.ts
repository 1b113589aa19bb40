/**
 * The crash test: clients edit one session with durable acknowledgements while the server
 * (`server/main.ts` in a child process, as `npm start` runs it) is killed with SIGKILL at random
 * moments and restarted on the same port and data. At the end a fresh client on a fresh server
 * process checks that every acknowledged edit is there. `npm run crashtest` runs it long; the test
 * suite runs a short version so it cannot rot.
 *
 *   const report = await runCrashtest({ kills: 3, clients: 5, seed: 1 })
 *   report.lost.length === 0
 */
import net from 'node:net';
import { trackDurableAcks, type DurableAcks } from '../docs-model/durable-acks.ts';
import { addAnnotation, getAnnotation, setLabel } from '../docs-model/index.ts';
import { connectClient, synced, type TestClient } from './clients.ts';
import { createTestStorage, startChildServer, testTokens, type ChildServer } from './server.ts';
import { createSessionOverRest } from './sessions.ts';
import { seededRandom } from './fuzz.ts';
import { waitFor } from './databases.ts';

export interface CrashtestReport {
  kind: 'postgres' | 'pglite';
  seed: number;
  kills: number;
  clients: number;
  seconds: number;
  made: number;
  ackedBeforeEnd: number;
  /** Acknowledged edits in all (after the final flush). */
  acknowledged: number;
  /** Acknowledged edits missing after the last restart: must be none. */
  lost: string[];
  /** Kills that landed while a client had sent edits not yet acknowledged. */
  killsMidWrite: number;
}

interface Editor {
  client: TestClient;
  acks: DurableAcks;
  /** Ids in the order they were made; the first `made - unsaved` of them are acknowledged. */
  ids: string[];
  /** The longest acknowledged prefix seen so far. */
  acked: number;
  timer: NodeJS.Timeout | null;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

export async function runCrashtest(opts: { kills: number; clients: number; seed: number; progress?: (line: string) => void }): Promise<CrashtestReport> {
  const { kills, seed } = opts;
  const clientCount = opts.clients;
  const random = seededRandom(seed);
  const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  const storage = await createTestStorage(kind);
  const port = await freePort();
  const env = { ...storage.env, PORT: String(port), MESSAGES_PER_SECOND: '100000', MESSAGE_BURST: '100000' };
  const start = async (): Promise<ChildServer> => {
    // The kernel may take a moment to release the port of a killed process: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        return await startChildServer({ ...env });
      } catch (err) {
        if (attempt >= 20) throw err;
      }
    }
  };

  let server = await start();
  const url = `http://127.0.0.1:${port}`;
  const token = await testTokens.sign({ sub: 'crashtest', name: 'crashtest', admin: true });
  const { docName } = await createSessionOverRest(url, token);
  const editors: Editor[] = [];
  try {
    for (let i = 0; i < clientCount; i++) {
      // The handler is registered before connecting, so no acknowledgement arrives unhandled.
      const client = connectClient(url, docName, { params: { token, acks: '1' }, connect: false });
      const acks = trackDurableAcks(client.provider as unknown as Parameters<typeof trackDurableAcks>[0]);
      client.provider.connect();
      await synced(client.provider);
      const editor: Editor = { client, acks, ids: [], acked: 0, timer: null };
      acks.on('change', (unsaved) => {
        editor.acked = Math.max(editor.acked, editor.ids.length - unsaved);
      });
      editors.push(editor);
    }
    setLabel(editors[0]!.client.doc, 'car', {});

    const edit = (editor: Editor, index: number) => {
      const id = `c${index}-${editor.ids.length}`;
      editor.ids.push(id);
      addAnnotation(editor.client.doc, { id, frame: editor.ids.length % 100, bbox: [1, 1, 5, 5], label: 'car' }, { by: `client${index}` });
    };
    editors.forEach((editor, index) => {
      editor.timer = setInterval(() => edit(editor, index), 20 + Math.floor(random() * 30));
    });

    let killsMidWrite = 0;
    const started = performance.now();
    for (let k = 0; k < kills; k++) {
      // A random moment within the edits: the point is to land between a send and its commit.
      await new Promise((resolve) => setTimeout(resolve, 150 + random() * 600));
      const inFlight = editors.some((editor) => editor.client.provider.wsconnected && editor.acks.unsavedCount > 0);
      server.process.kill('SIGKILL');
      await server.exited;
      if (inFlight) killsMidWrite++;
      server = await start();
      opts.progress?.(`  kill ${k + 1}/${kills}${inFlight ? ' (writes in flight)' : ''}`);
    }

    for (const editor of editors) if (editor.timer) clearInterval(editor.timer);
    const made = editors.reduce((sum, editor) => sum + editor.ids.length, 0);
    const ackedBeforeEnd = editors.reduce((sum, editor) => sum + editor.acked, 0);
    await waitFor(() => editors.every((editor) => editor.acks.unsavedCount === 0), {
      timeoutMs: 60_000,
      message: 'every edit acknowledged after the last restart',
    }).catch((err: unknown) => {
      const state = editors.map((editor) => `${editor.acks.unsavedCount}/${editor.ids.length}${editor.client.provider.wsconnected ? '' : ' offline'}`);
      opts.progress?.(`unsaved per client: ${state.join(', ')}`);
      throw err;
    });
    const acknowledged = editors.map((editor) => editor.ids.slice(0, editor.acked));
    for (const editor of editors) {
      editor.acks.destroy();
      editor.client.destroy();
    }
    editors.length = 0;
    // Nobody left to resend anything: kill once more, then read what the database kept.
    server.process.kill('SIGKILL');
    await server.exited;
    server = await start();
    const reader = connectClient(url, docName, { params: { token } });
    await synced(reader.provider);
    const lost = acknowledged.flat().filter((id) => getAnnotation(reader.doc, id) === null);
    reader.destroy();
    return {
      kind,
      seed,
      kills,
      clients: clientCount,
      seconds: (performance.now() - started) / 1000,
      made,
      ackedBeforeEnd,
      acknowledged: acknowledged.flat().length,
      lost,
      killsMidWrite,
    };
  } finally {
    for (const editor of editors) {
      if (editor.timer) clearInterval(editor.timer);
      editor.acks.destroy();
      editor.client.destroy();
    }
    if (server.process.exitCode === null && server.process.signalCode === null) {
      server.process.kill('SIGTERM');
      await server.exited;
    }
    await storage.cleanup();
  }
}
