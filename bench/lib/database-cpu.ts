/**
 * CPU time of the Postgres backends serving given processes (Linux, Postgres on this machine):
 * each process's socket inodes (/proc/<pid>/fd) give its TCP client ports (/proc/net/tcp), which
 * `pg_stat_activity.client_port` maps to backend pids, whose /proc/<pid>/stat has their CPU. So a
 * benchmark can tell its servers' database work apart from everything else the database does.
 *
 *   const meter = await databaseCpuMeter(db, [serverA.pid, serverB.pid])
 *   …
 *   const ms = await meter()   // CPU ms those servers' backends used meanwhile
 *
 * Backends opened during the window count in full; one closed before its end is missed (pools
 * keep their connections, so rarely). Resolves to NaN when /proc or the mapping is unavailable.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type pg from 'pg';
import { readCpuMs } from './server-process.ts';

function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match?.[1]) inodes.add(match[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** Local TCP ports of the given socket inodes (IPv4 and IPv6). */
function localPorts(inodes: Set<string>): number[] {
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local && fields[9] && inodes.has(fields[9])) ports.push(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

async function backendCpu(db: pg.Client, pids: number[]): Promise<Map<number, number>> {
  const ports = localPorts(socketInodes(pids));
  const { rows } = await db.query<{ pid: number }>('select pid from pg_stat_activity where client_port = any($1::int[])', [ports]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, readCpuMs(pid));
    } catch {
      // gone, or not readable
    }
  }
  return cpu;
}

export async function databaseCpuMeter(db: pg.Client, pids: number[]): Promise<() => Promise<number>> {
  let before: Map<number, number>;
  try {
    before = await backendCpu(db, pids);
  } catch {
    return async () => NaN;
  }
  return async () => {
    const after = await backendCpu(db, pids);
    if (after.size === 0) return NaN;
    let ms = 0;
    for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
    return ms;
  };
}
