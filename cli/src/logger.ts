import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** JSON logs for machines; readable ones on a terminal. LOG_LEVEL sets the level (default info). */
export function createLogger(): Logger {
  const level = process.env.LOG_LEVEL ?? 'info';
  if (process.stdout.isTTY) {
    return pino({ level }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }));
  }
  return pino({ level });
}
