import { createRequire } from 'node:module';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { emailOf, emailRange, lookupValue } from '../store/matching.js';
import type { LookupColumn, LookupKey } from '../store/record-backend.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';

/** Table names a store accepts: letters, digits, underscores; never quoted user input. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
export const LOOKUPS: readonly LookupColumn[] = [
  'id',
  'userName',
  'userEmail',
  'accessToken',
  'grantToken',
  'refreshToken',
];
/** The lookups that are a column of the table (`userEmail` is a range of `user_name`). */
export const COLUMN_LOOKUPS = LOOKUPS.filter((column) => column !== 'userEmail');
export const columnOf = (field: string): string => TOKEN_COLUMNS.find((c) => c.field === field)?.column ?? field;

/**
 * SQL that selects the rows of one lookup column for `values`, with `param()` giving the next
 * placeholder and pushing its value: `column = ?` or `IN (…)`, and for `userEmail` a range of
 * `user_name` per value, which the user-name index answers. `userNameColumn` may add a collation.
 */
export function lookupCondition(
  column: LookupColumn,
  values: readonly string[],
  param: (value: string) => string,
  userNameColumn = 'user_name',
  shape: TableShape = CURRENT_SHAPE,
): string {
  if (column === 'userEmail') {
    return values
      .map((email) => {
        const [from, to] = emailRange(email);
        return `(${userNameColumn} >= ${param(from)} AND ${userNameColumn} < ${param(to)})`;
      })
      .join(' OR ');
  }
  const name = column === 'userName' ? userNameColumn : (shapeColumn(shape, column) ?? columnOf(column));
  return values.length === 1
    ? `${name} = ${param(values[0] as string)}`
    : `${name} IN (${values.map(param).join(', ')})`;
}

/** Validates a table name, so it can be spliced into SQL as an identifier. */
export function checkTable(store: string, table: string): string {
  if (!IDENTIFIER.test(table)) {
    throw new TypeError(`${store}: table must be letters, digits and underscores, got ${JSON.stringify(table)}`);
  }
  return table;
}

/** Loads an optional peer dependency only when its store is used. */
export function loadDriver<T>(store: string, name: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (error) {
    throw new TokenStoreError(
      TokenStoreErrorCode.STORAGE_FAILURE,
      `${store} needs the ${name} package: npm install ${name}`,
      {
        cause: error,
      },
    );
  }
}

/** A driver failure as the typed error every store raises. */
export function storageFailure(message: string, cause: unknown): TokenStoreError {
  if (cause instanceof TokenStoreError) return cause;
  return new TokenStoreError(TokenStoreErrorCode.STORAGE_FAILURE, message, { cause });
}

export function lockTimeout(store: string, ms: number): TokenStoreError {
  return new TokenStoreError(TokenStoreErrorCode.LOCK_TIMEOUT, `${store}: refresh lock not acquired within ${ms} ms`);
}

/**
 * SQL rows can compare loosely (MySQL ignores trailing spaces); keep only exact matches, with
 * every field a string or null.
 */
export function exactRows(
  rows: readonly Record<string, unknown>[],
  column: LookupColumn,
  value: string,
): TokenRecord[] {
  const out: TokenRecord[] = [];
  for (const row of rows) {
    const record = toRecord(row);
    if (lookupValue(record, column) === value) out.push(record);
  }
  return out;
}

/** The keys' values grouped by column, for one `column IN (…)` or `= ANY(…)` per column. */
export function valuesByColumn(keys: readonly LookupKey[]): Map<LookupColumn, string[]> {
  const grouped = new Map<LookupColumn, string[]>();
  for (const key of keys) {
    const values = grouped.get(key.column) ?? [];
    values.push(key.value);
    grouped.set(key.column, values);
  }
  return grouped;
}

/**
 * Items in consecutive chunks of at most `maxItems`, and of at most `maxChars` by `size` unless
 * one item alone is larger, so a multi-row statement stays within a server's packet limit.
 */
export function chunked<T>(items: readonly T[], size: (item: T) => number, maxItems = 500, maxChars = 1 << 20): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const item of items) {
    const length = size(item);
    if (current.length > 0 && (current.length === maxItems || chars + length > maxChars)) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A test of whether a record equals one of the keys exactly, in constant time per record. */
export function matchesAnyKey(keys: readonly LookupKey[]): (record: TokenRecord) => boolean {
  const wanted = new Set(keys.map((key) => `${key.column}\u0000${key.value}`));
  return (record) =>
    LOOKUPS.some((column) => {
      const value = lookupValue(record, column);
      return value !== null && wanted.has(`${column}\u0000${value}`);
    });
}

/** The rows that equal one of the keys exactly (SQL may have matched loosely), as records. */
export function matchingRows(rows: readonly Record<string, unknown>[], keys: readonly LookupKey[]): TokenRecord[] {
  return rows.map(toRecord).filter(matchesAnyKey(keys));
}

export function toRecord(row: Record<string, unknown>): TokenRecord {
  const record: Record<string, string | null> = {};
  for (const { field } of TOKEN_COLUMNS) {
    const value = row[field];
    record[field] = value == null ? null : String(value);
  }
  return record as unknown as TokenRecord;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `create` once and shares its promise; a failure is forgotten, so the next call tries
 * again (a database that starts after the store is fine).
 */
export function onceUntilFailure(create: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= create().catch((error) => {
      done = undefined;
      throw error;
    });
    return done;
  };
}

/** Connections a store's own pool opens at most. */
export const POOL_SIZE = 10;

/**
 * Caps the refresh locks this process holds at once on one pool. Each lock keeps a pooled
 * connection for as long as it is held, and the work inside it (a save) needs another one: with
 * every connection holding a lock, those saves would wait for a connection forever. Two
 * connections always stay free for them. Waiters take a slot in arrival order.
 */
export class LockSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(poolSize: number) {
    this.#free = Math.max(1, poolSize - 2);
  }

  /** Runs `work` once a slot is free; the slot is free again when it settles. */
  async run<R>(work: () => Promise<R>): Promise<R> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * Which table layout a SQL store reads and writes. `current`: the official SDK 8.0 DBStore's
 * (`user_name`, `api_domain`). `legacy`: the DBStore table of `zcrmsdk` 1.x and the 2.0 SDKs
 * (`@zohocrm/nodejs-sdk-2.0`, `@zohocrm/typescript-sdk-2.0`): `user_mail NOT NULL` for the user,
 * no `api_domain`, and in `zcrmsdk` no `client_secret` or `redirect_url` either.
 */
export type TableLayout = 'current' | 'legacy';

/** A table's layout and the record fields it has a column for, with their column names. */
export interface TableShape {
  readonly layout: TableLayout;
  readonly columns: readonly { readonly field: keyof TokenRecord; readonly column: string }[];
}

/** The layout every store creates by default. */
export const CURRENT_SHAPE: TableShape = { layout: 'current', columns: TOKEN_COLUMNS };

const LEGACY_COLUMNS = TOKEN_COLUMNS.filter((c) => c.field !== 'apiDomain').map((c) =>
  c.field === 'userName' ? { field: c.field, column: 'user_mail' } : c,
);

/** The layout a legacy table is created in (`layout: 'legacy'`): the 2.0 SDKs' README DDL. */
export const LEGACY_SHAPE: TableShape = { layout: 'legacy', columns: LEGACY_COLUMNS };

/**
 * The shape of an existing table from its column names: legacy when it has `user_mail` and
 * neither `user_name` nor `api_domain` (with the columns it has), else current.
 */
export function shapeOf(columnNames: readonly string[]): TableShape {
  const names = new Set(columnNames.map((name) => name.toLowerCase()));
  if (!names.has('user_mail') || names.has('user_name') || names.has('api_domain')) return CURRENT_SHAPE;
  return { layout: 'legacy', columns: LEGACY_COLUMNS.filter((c) => names.has(c.column)) };
}

/**
 * The column of a lookup in this shape (a legacy table's `user_mail`), or null when the table has
 * none, as a `zcrmsdk` table lacks `client_secret`.
 */
export function shapeColumn(shape: TableShape, field: keyof TokenRecord): string | null {
  return shape.columns.find((c) => c.field === field)?.column ?? null;
}

/**
 * A row read from a table of this shape as a record. The legacy SDKs build their SQL by string
 * concatenation and so store an absent value as the text `null`: read as null there.
 */
export function recordIn(shape: TableShape, row: object): TokenRecord {
  const record = toRecord(row as Record<string, unknown>) as unknown as Record<string, string | null>;
  if (shape.layout === 'legacy')
    for (const [field, value] of Object.entries(record)) if (value === 'null') record[field] = null;
  return record as unknown as TokenRecord;
}

/**
 * The values a record is written as, in the order of the shape's columns. A legacy table's user
 * is the plain email the legacy SDKs look up (`email:zgid` loses its org there; see `lookupKeys`).
 */
export function valuesIn(shape: TableShape, record: TokenRecord): (string | null)[] {
  return shape.columns.map(({ field }) =>
    field === 'userName' && shape.layout === 'legacy' ? (emailOf(record.userName) ?? record.userName) : record[field],
  );
}
