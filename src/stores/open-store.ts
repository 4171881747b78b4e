import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { RefreshLock } from '../lifecycle/refresh-lock.js';
import type { StoreOptions } from '../store/record-token-store.js';
import type { TokenStore } from '../store/token-store.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';

/**
 * A store opened by {@link openStore}: a `TokenStore` that can be closed, maybe with a refresh lock.
 *
 * @example
 * ```ts
 * const store: OpenedStore = await openStore('file:./tokens.json');
 * if (store.withRefreshLock) await store.withRefreshLock('zoho-token:ana', refresh);
 * await store.close();
 * ```
 */
export type OpenedStore<T extends TokenLike = OAuthToken> = TokenStore<T> &
  Partial<RefreshLock> & { close(): Promise<void> };

/**
 * Options of {@link openStore}: those of every store, plus the keyring that turns encryption on.
 *
 * @example
 * ```ts
 * const options: OpenStoreOptions = { keys: process.env.ZOHO_TOKEN_KEY };
 * const store = await openStore('sqlite:./zohooauth.db', options);
 * ```
 */
export interface OpenStoreOptions<T extends TokenLike = OAuthToken> extends StoreOptions<T> {
  /**
   * A keyring (`id:base64key[,…]`, first key for writes): given, the store is wrapped in an
   * `EncryptedStore` (see `zoho-token-store/stores/encrypted`). Undefined means no encryption,
   * so `process.env.ZOHO_TOKEN_KEY` can be passed as it is.
   */
  keys?: string;
  /** With `keys`: read rows in plain text or in an older format, until `rekey` (see `EncryptedStoreOptions`). */
  migration?: boolean;
}

/**
 * The store URL used when none is given: SQLite in `./zohooauth.db`.
 *
 * @example
 * ```ts
 * const store = await openStore(process.env.TOKEN_STORE_URL ?? DEFAULT_STORE_URL);
 * ```
 */
export const DEFAULT_STORE_URL = 'sqlite:./zohooauth.db';

/**
 * Opens a built-in store from a URL, loading only that store's driver:
 * `sqlite:./zohooauth.db` (`sqlite::memory:` for RAM), `file:./tokens.json`, `memory:`,
 * `mysql://user:pass@host/db` (also `mariadb://`), `postgres://…` (also `postgresql://`),
 * `redis://host:6379`. SQL URLs take `?table=name`, Redis URLs `?prefix=name:`. With `keys`, the
 * store encrypts secrets at rest; a malformed keyring fails with `NO_KEY` before anything is opened.
 *
 * @example
 * ```ts
 * import { openStore } from 'zoho-token-store';
 * const store = await openStore(process.env.TOKEN_STORE_URL ?? 'sqlite:./zohooauth.db', {
 *   keys: process.env.ZOHO_TOKEN_KEY, // encrypted when set
 * });
 * const tokens = await store.getTokens();
 * await store.close();
 * ```
 */
export async function openStore<T extends TokenLike = OAuthToken>(
  url: string = DEFAULT_STORE_URL,
  options: OpenStoreOptions<T> = {},
): Promise<OpenedStore<T>> {
  const { keys, migration, ...storeOptions } = options;
  if (keys === undefined) return openPlainStore(url, storeOptions);
  // Checked first, so a bad keyring creates no file and opens no connection.
  const [{ TokenCipher }, { EncryptedStore }] = await Promise.all([
    import('./token-cipher.js'),
    import('./encrypted.js'),
  ]);
  new TokenCipher(keys);
  return new EncryptedStore(await openPlainStore(url, storeOptions), { keys, migration });
}

async function openPlainStore<T extends TokenLike>(url: string, options: StoreOptions<T>): Promise<OpenedStore<T>> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { MemoryStore } = await import('./memory.js');
      return new MemoryStore<T>(options);
    }
    case 'sqlite': {
      const { SQLiteStore } = await import('./sqlite.js');
      const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      return new SQLiteStore<T>({ ...options, path: path === '' ? 'zohooauth.db' : path });
    }
    case 'file': {
      const { FileStore } = await import('./file.js');
      const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
      if (path === '') throw invalidUrl(url, 'file: needs a path, as in file:./tokens.json');
      return new FileStore<T>({ ...options, path });
    }
    case 'mysql':
    case 'mariadb': {
      const { MySQLStore } = await import('./mysql.js');
      const { url: connection, table } = splitParam(url, 'table');
      return new MySQLStore<T>({
        ...options,
        url: connection.replace(/^mariadb:/i, 'mysql:'),
        ...(table && { table }),
      });
    }
    case 'postgres':
    case 'postgresql': {
      const { PostgresStore } = await import('./postgres.js');
      const { url: connection, table } = splitParam(url, 'table');
      return new PostgresStore<T>({ ...options, url: connection, ...(table && { table }) });
    }
    case 'redis':
    case 'rediss': {
      const { RedisStore } = await import('./redis.js');
      const { url: connection, prefix } = splitParam(url, 'prefix');
      return new RedisStore<T>({ ...options, url: connection, ...(prefix && { prefix }) });
    }
    default:
      throw invalidUrl(url, 'use sqlite:, file:, memory:, mysql://, postgres:// or redis://');
  }
}

/** Takes one of our own query parameters off a connection URL, leaving the driver's own. */
function splitParam<K extends string>(url: string, name: K): { url: string } & Partial<Record<K, string>> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(url, 'it is not a valid URL');
  }
  const value = parsed.searchParams.get(name);
  parsed.searchParams.delete(name);
  return { url: parsed.toString(), ...(value !== null && { [name]: value }) } as { url: string } & Partial<
    Record<K, string>
  >;
}

function invalidUrl(url: string, hint: string): TokenStoreError {
  // The URL may carry a password: name only its scheme.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'the store URL';
  return new TokenStoreError(TokenStoreErrorCode.INVALID_STORE_URL, `unsupported store URL (${scheme}): ${hint}`);
}
