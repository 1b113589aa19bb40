/**
 * Server-Sent Events over fetch (the WHATWG event-stream format: `id:`, `data:` lines, a blank
 * line ends an event, `:` lines are comments such as heartbeats), as an async iterable.
 *
 *   for await (const e of readEvents(res)) console.log(e.id, JSON.parse(e.data))
 */

export interface ServerEvent {
  id: string | null;
  event: string;
  data: string;
}

export async function* readEvents(res: Response): AsyncGenerator<ServerEvent> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | null = null;
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer[nl] === '\r' ? nl + 2 : nl + 1);
      if (line === '') {
        if (data.length) yield { id, event, data: data.join('\n') };
        event = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'event') event = value;
    }
  }
}
