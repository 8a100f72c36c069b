import { pino, type DestinationStream, type Logger } from 'pino';
import type { SecretRedactor } from './secret-redactor.js';

export interface LoggerOptions {
  level: string;
  /** Applied to every serialized line, of this logger and all its children. */
  redactor: SecretRedactor;
  /** Fields on every line. */
  base?: Record<string, unknown>;
  /** Standard output unless given (tests capture the lines). */
  destination?: DestinationStream;
}

/**
 * The server's pino logger. Secrets are redacted from each line as written (pino's `streamWrite`
 * hook, on the serialized JSON): whatever field, error or nested object a secret hides in, it
 * cannot reach the output. pino's own `redact` option only covers paths named in advance.
 */
export function createLogger(options: LoggerOptions): Logger {
  const { level, redactor, base, destination } = options;
  const settings = { level, hooks: { streamWrite: (line: string) => redactor.redact(line) }, ...(base === undefined ? {} : { base }) };
  return destination === undefined ? pino(settings) : pino(settings, destination);
}
