/**
 * The machine's count of connections the kernel dropped because a listen queue was full
 * (TcpExtListenOverflows in /proc/net/netstat; 0 where that file is missing). A dropped
 * connection is retried by the client's TCP after its 1 s SYN timeout, so a crowd connecting at
 * once to a server whose accept queue (node's default backlog: 511) overflows waits ~1 s more,
 * whatever the server does afterwards. Read around one server's window, the difference is that
 * server's when no other one runs meanwhile.
 *
 *   const before = listenOverflows();  …  const dropped = listenOverflows() - before;
 */
import { readFileSync } from 'node:fs';

export function listenOverflows(): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/netstat', 'utf8');
  } catch {
    return 0;
  }
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(' ');
    if (names[0] !== 'TcpExt:') continue;
    return Number(lines[i + 1]!.split(' ')[names.indexOf('ListenOverflows')] ?? 0);
  }
  return 0;
}
