/**
 * Where the TokenManager reports what it does. Every field it passes is safe to print: secrets
 * are masked before they reach a logger. `console` fits; so do pino and winston.
 */
export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** The default: says nothing. */
export const silentLogger: Logger = {};
