/** Structured logs (pino). Built by the server factory, never at import. */
import { pino } from 'pino';
import type { Config } from '../config.ts';
import type { Logger } from '../../shared/logger.ts';

export function createLogger(level: Config['logLevel']): Logger & { level: string } {
  return pino({ level, base: { service: 'annosync' } });
}
