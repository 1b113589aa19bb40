/**
 * The REST calls the annotator makes: the caller's projects, a project's sessions, a session's
 * video. Everything else goes through the synced document.
 */
import { apiUrl } from 'annosync/client';

export interface ProjectItem {
  id: string;
  name: string;
}

export interface SessionItem {
  id: string;
  name: string;
  videoId: string;
  status: string;
}

export interface VideoItem {
  id: string;
  uri: string;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function createApi(server: string, token: string) {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${apiUrl(server)}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new ApiError(res.status, body?.error?.message ?? `${res.status} ${res.statusText}`);
    }
    return (await res.json()) as T;
  };
  return {
    projects: async () => (await get<{ items: ProjectItem[] }>('/api/projects?limit=200')).items,
    sessions: async (projectId: string) => (await get<{ items: SessionItem[] }>(`/api/projects/${encodeURIComponent(projectId)}/sessions?limit=200`)).items,
    video: (videoId: string) => get<VideoItem>(`/api/videos/${encodeURIComponent(videoId)}`),
  };
}

/** The claims of a JWT, read without checking it (the server checks it): who the token is for. */
export function tokenClaims(token: string): { sub?: string; name?: string; exp?: number } {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: string; name?: string; exp?: number };
  } catch {
    return {};
  }
}
