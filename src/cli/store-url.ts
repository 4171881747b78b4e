import { existsSync } from 'node:fs';
import { DEFAULT_STORE_URL, isTokenStoreError, type OpenedStore, openStore, TokenStoreErrorCode } from '../index.js';
import { CommandError, redactUrlPasswords, UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import { printable } from './text-format.js';

/**
 * The `--store` option, shared by every command that opens a store.
 *
 * @example
 * ```ts
 * defineCommand({ name: 'list', options: { ...STORE_OPTION, json: { type: 'boolean' } }, … });
 * ```
 */
export const STORE_OPTION = { store: { type: 'string' } } as const;

/**
 * The store URL a command uses: `--store`, else `TOKEN_STORE_URL`, else SQLite in `./zohooauth.db`.
 *
 * @example
 * ```ts
 * storeUrlOf(undefined, { ...io, env: { TOKEN_STORE_URL: 'memory:' } }); // 'memory:'
 * ```
 */
export function storeUrlOf(option: string | undefined, io: CliIo): string {
  return option ?? io.env.TOKEN_STORE_URL ?? DEFAULT_STORE_URL;
}

/**
 * The keyring in `ZOHO_TOKEN_KEY`, or undefined when it is unset or empty (the store is then
 * opened without encryption).
 *
 * @example
 * ```ts
 * keyringOf({ ...io, env: { ZOHO_TOKEN_KEY: 'k1:…' } }); // 'k1:…'
 * ```
 */
export function keyringOf(io: CliIo): string | undefined {
  const keys = io.env.ZOHO_TOKEN_KEY;
  return keys === undefined || keys === '' ? undefined : keys;
}

/**
 * A store URL as it may be echoed: the password, in the user-info part or a `password` parameter,
 * becomes `***`.
 *
 * @example
 * ```ts
 * maskStoreUrl('postgres://root:hunter2@db/test'); // 'postgres://root:***@db/test'
 * ```
 */
export function maskStoreUrl(url: string): string {
  // openStore refuses such a URL, but its message may still echo it.
  if (!URL.canParse(url)) return redactUrlPasswords(url);
  const parsed = new URL(url);
  // Paths such as `sqlite:./tokens.db` carry nothing secret and would be mangled by re-serialising.
  if (!parsed.host) return url;
  if (parsed.password) parsed.password = '***';
  for (const name of [...parsed.searchParams.keys()]) {
    if (/pass(word)?|secret|token/i.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString().replace(/%2A%2A%2A/g, '***');
}

/**
 * The failure of a command given an id the store does not hold.
 *
 * @example
 * ```ts
 * if (token === null) throw noSuchToken(id, url); // 'no token with id 1234567890 in sqlite:./zohooauth.db'
 * ```
 */
export function noSuchToken(id: string, url: string): CommandError {
  return new CommandError(`no token with id ${printable(id)} in ${maskStoreUrl(url)}`);
}

/**
 * The file behind a `sqlite:` or `file:` URL, or null for a server or memory store.
 *
 * @example
 * ```ts
 * storeFileOf('sqlite:./zohooauth.db'); // './zohooauth.db'
 * storeFileOf('redis://127.0.0.1:6379'); // null
 * ```
 */
export function storeFileOf(url: string): string | null {
  const match = /^(sqlite|file):(.*)$/i.exec(url);
  if (!match) return null;
  const path = (match[2] as string).replace(/^\/\/(?=\/)/, '');
  if (path === ':memory:') return null;
  return path === '' ? 'zohooauth.db' : path;
}

/**
 * Opens the store behind a URL as the CLI does: encrypted with the keyring in `ZOHO_TOKEN_KEY`
 * when it is set. A URL `openStore` rejects is a usage error.
 *
 * @example
 * ```ts
 * const store = await openCliStore('sqlite:./zohooauth.db', io);
 * await store.close();
 * ```
 */
export async function openCliStore(url: string, io: CliIo, access: StoreAccess = {}): Promise<OpenedStore> {
  try {
    const keys = keyringOf(io);
    const store = await openStore(url, { keys, migration: access.migration === true });
    if (keys === undefined && access.showSealed) (store as { passSealedValues?: () => unknown }).passSealedValues?.();
    return store;
  } catch (error) {
    throw inContext(url, error, access.option);
  }
}

/** How a command reads a store beyond the defaults. */
export interface StoreAccess {
  /** The option that named the store, for messages: `--store` (default), `--from`, `--to`. */
  option?: string;
  /** Create a `sqlite:` or `file:` store that does not exist yet (the commands that fill one). */
  create?: boolean;
  /**
   * Without a key, list encrypted tokens as such instead of failing with NO_KEY (`list`,
   * `show`, `doctor`: they show them as "encrypted" and never use them).
   */
  showSealed?: boolean;
  /** With a key, read rows in plain text or in an older format (`rekey --migrate`, `migrate --migrate`). */
  migration?: boolean;
}

/**
 * Opens the store ({@link openCliStore}), runs `body` on it and closes it, whatever `body` did.
 * A storage failure is reported with the (masked) URL of the store it happened in. The file of a
 * `sqlite:` or `file:` store must exist unless `create` is set (for the commands that fill a
 * store): a read in the wrong folder must not leave an empty database there and report it empty.
 *
 * @example
 * ```ts
 * const count = await withStore('sqlite:./zohooauth.db', io, async (store) => (await store.getTokens()).length);
 * ```
 */
export async function withStore<R>(
  url: string,
  io: CliIo,
  body: (store: OpenedStore) => Promise<R>,
  access: StoreAccess = {},
): Promise<R> {
  const file = storeFileOf(url);
  if (!access.create && file !== null && !existsSync(file)) {
    const option = access.option ?? '--store';
    throw new CommandError(`no token store at ${printable(file)}`, {
      hint: option === '--store' ? 'give --store URL or set TOKEN_STORE_URL' : `check the path in ${option}`,
    });
  }
  const store = await openCliStore(url, io, access);
  let result: R;
  try {
    result = await body(store);
  } catch (error) {
    // The first failure is the one to report; a store may not close cleanly after it.
    await store.close().catch(() => {});
    throw inContext(url, error, access.option);
  }
  try {
    await store.close();
  } catch (error) {
    throw inContext(url, error, access.option);
  }
  return result;
}

function inContext(url: string, error: unknown, option = '--store'): unknown {
  if (!isTokenStoreError(error)) return error;
  if (error.code === TokenStoreErrorCode.INVALID_STORE_URL) {
    if (!schemeless(url)) return new UsageError(`${option}: ${error.message}`, { cause: error });
    return new UsageError(`${option}: ${printable(url)} is a path, not a store URL`, {
      hint: `did you mean ${/\.json$/i.test(url) ? 'file' : 'sqlite'}:${printable(url)}?`,
    });
  }
  if (error.code !== TokenStoreErrorCode.STORAGE_FAILURE) return error;
  return new CommandError(`${maskStoreUrl(url)}: ${error.message}`, { cause: error });
}

/** A path given where a URL was due, such as `./zohooauth.db`. */
function schemeless(url: string): boolean {
  return url !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(url);
}
