/**
 * A Server-Sent Events reader over fetch for tests and benches: events (id, data) and comments as
 * they arrive, with a bounded wait for the next one.
 *
 *   const sse = await openSse(url + '/api/test-runs/r1/events', token, { lastEventId: 3 })
 *   const event = await sse.next()   // → { id: 4, data: {...} }
 *   sse.close()
 */
export interface SseEvent {
  id: number | null;
  data: unknown;
}

export interface SseStream {
  status: number;
  events: SseEvent[];
  comments: string[];
  /** The next event not yet returned by next(); rejects after `timeoutMs` or when the stream ended first. */
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, token: string, opts: { lastEventId?: number } = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(opts.lastEventId === undefined ? {} : { 'last-event-id': String(opts.lastEventId) }) },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let taken = 0;
  let done = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const ended = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          let id: number | null = null;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id:')) id = Number(line.slice(3).trim());
            else if (line.startsWith('data:')) data.push(line.slice(5).trim());
          }
          if (data.length > 0) events.push({ id, data: JSON.parse(data.join('\n')) as unknown });
          wake();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      wake();
    }
  })();
  return {
    status: res.status,
    events,
    comments,
    ended,
    next: (timeoutMs = 5000) =>
      new Promise<SseEvent>((resolve, reject) => {
        const check = () => {
          if (taken < events.length) {
            finish();
            resolve(events[taken++] as SseEvent);
          } else if (done) {
            finish();
            reject(new Error('the stream ended'));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close: () => abort.abort(),
  };
}
