import { isTokenStoreError } from '../errors.js';

/**
 * Whether the storage refused the data of a call rather than the call itself: an SQL data
 * exception or constraint violation (SQLSTATE class 22 or 23, as mysql2's `sqlState` and pg's
 * `code` give it; SQLite's constraint and size codes). The same call with other values may well
 * succeed; after any other failure (the server down, a timeout) it would not.
 */
export function refusedData(error: unknown): boolean {
  const cause = isTokenStoreError(error) ? error.cause : error;
  const { sqlState, code } = (cause ?? {}) as { sqlState?: unknown; code?: unknown };
  const state = typeof sqlState === 'string' ? sqlState : typeof code === 'string' ? code : '';
  return /^2[23][0-9A-Z]{3}$/.test(state) || /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)/.test(state);
}
