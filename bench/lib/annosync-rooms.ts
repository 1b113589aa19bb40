/**
 * annosync only serves documents that exist (sessions created over REST) to callers with a token
 * (docs/architecture.md, "Auth"). The bench's room names (`session:bench-…`) become sessions with those ids, created
 * once per server over REST with an admin token signed with the bench's AUTH_SECRET; the reference
 * server takes any room and no token.
 */
import { createTokenService } from '../../server/services/tokens.ts';
import type { ServerAddress } from './clients.ts';

/** Passed to annosync as AUTH_SECRET by bench/sync.ts. */
export const BENCH_AUTH_SECRET = 'annosync-bench-secret-0123456789abcdef';

const tokens = createTokenService(BENCH_AUTH_SECRET);
export const benchAdminToken = await tokens.sign({ sub: 'bench', name: 'bench', admin: true });

interface ServerSetup {
  projectId: string;
  videoId: string;
  rooms: Map<string, Promise<void>>;
}
const setups = new Map<string, Promise<ServerSetup>>();

class CallError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function call<T>(server: ServerAddress, method: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`http://${server.host}:${server.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${benchAdminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new CallError(response.status, `${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

function setupFor(server: ServerAddress): Promise<ServerSetup> {
  const key = `${server.host}:${server.port}`;
  let setup = setups.get(key);
  if (!setup) {
    setup = (async () => {
      const project = await call<{ id: string }>(server, 'POST', '/api/projects', {
        name: 'bench',
        labels: [{ name: 'car' }, { name: 'person' }],
      });
      const video = await call<{ id: string }>(server, 'POST', '/api/videos', {
        name: 'bench.mp4',
        uri: 'file:///bench.mp4',
        width: 1920,
        height: 1080,
        fps: 30,
        frameCount: 100_000,
      });
      await call(server, 'POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
      return { projectId: project.id, videoId: video.id, rooms: new Map() };
    })();
    setups.set(key, setup);
  }
  return setup;
}

/** Resolves once the room exists on the server (at once for the reference). */
export function ensureRoom(server: ServerAddress, room: string): Promise<void> {
  if (server.kind !== 'annosync') return Promise.resolve();
  const id = room.replace(/^session:/, '');
  return setupFor(server).then((setup) => {
    let created = setup.rooms.get(id);
    if (!created) {
      // 409: a session with this id exists already (a bench that created it over REST itself).
      created = call(server, 'POST', `/api/projects/${setup.projectId}/sessions`, { videoId: setup.videoId, id }).then(
        () => undefined,
        (err: unknown) => {
          if (!(err instanceof CallError && err.status === 409)) throw err;
        },
      );
      setup.rooms.set(id, created);
    }
    return created;
  });
}
