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

/**
 * annosync settings for the sync benches (bench/sync.ts, each overridable with --env, and
 * bench/fanout-pair.ts): the per-connection message rate limit is meant for people, and a bench
 * writer sends over 1 000 updates/s on one socket; idle documents unload after 3 s instead of 30 s
 * so the run can see them leave.
 */
export const ANNOSYNC_BENCH_ENV: Readonly<Record<string, string>> = {
  AUTH_SECRET: BENCH_AUTH_SECRET,
  // Every bench client is one user; the default of 100 connections per user would refuse most.
  MAX_CONNECTIONS_PER_USER: '100000',
  MESSAGES_PER_SECOND: '1000000',
  MESSAGE_BURST: '1000000',
  IDLE_UNLOAD_MS: '3000',
};

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
