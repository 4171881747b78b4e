import { readFile } from 'node:fs/promises';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { OAuthToken, type OAuthTokenFields } from '../token/oauth-token.js';

// The official FileStores' columns, in their order, with the names each SDK gives them, and the
// OAuthToken field each fills. SDKs before api_domain existed wrote the first nine columns only.
const COLUMNS = [
  [['id'], 'id'],
  // TypeScript SDKs and the legacy Node SDKs: user_mail; Node.js SDK 7.0/8.0 and Python: user_name.
  [['user_mail', 'user_name'], 'userName'],
  [['client_id'], 'clientId'],
  [['client_secret'], 'clientSecret'],
  [['refresh_token'], 'refreshToken'],
  [['access_token'], 'accessToken'],
  [['grant_token'], 'grantToken'],
  [['expiry_time'], 'expiresIn'],
  // Python: redirect_uri; every Node and TypeScript SDK: redirect_url.
  [['redirect_url', 'redirect_uri'], 'redirectURL'],
  [['api_domain'], 'apiDomain'],
] as const satisfies readonly (readonly [readonly string[], keyof OAuthTokenFields])[];
const EXPECTED_HEADER = COLUMNS.map(([names]) => names.join('|')).join(',');
const EXPIRY = COLUMNS.findIndex(([, field]) => field === 'expiresIn');
/** How every official SDK's token file starts, whichever SDK wrote it. */
export const OFFICIAL_HEADER_START = /^\uFEFF?id,user_(?:mail|name),/;
// Only the Python SDK names this column so, and only it quotes (csv.QUOTE_MINIMAL).
const QUOTING_WRITER_COLUMN = 'redirect_uri';

const QUOTE_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted value is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a quoted value is followed by more text before the next comma',
  INVALID_OPENING_QUOTE: 'a value that is not quoted holds a quote, which the Python SDK always quotes',
};

/**
 * The 1-based line numbers of byte offsets, asked in increasing order (each newline is counted
 * once). An offset is taken past any blank lines there, which the parser skips.
 */
function lineCounter(bytes: Buffer): (offset: number) => number {
  let line = 1;
  let counted = 0;
  return (offset) => {
    let at = offset;
    while (bytes[at] === 0x0d || bytes[at] === 0x0a) at++;
    for (let i = bytes.indexOf(0x0a, counted); i !== -1 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
    counted = Math.max(counted, at);
    return line;
  };
}

/**
 * Parses the token file of an official Zoho SDK's FileStore, as each SDK writes it:
 *
 * - the header `id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,
 *   expiry_time,redirect_url,api_domain` (TypeScript SDKs), with `user_name` (Node.js SDK 7.0/8.0),
 *   with `user_name` and `redirect_uri` (Python SDK), or without `api_domain` (the legacy
 *   generation: `@zohocrm/nodejs-sdk-2.0`, `zcrmsdk`);
 * - line ends `\n` or `\r\n`, blank lines ignored, an empty field meaning null (so a token without
 *   an id gets one from the store it is saved into);
 * - the Python SDK quotes a value holding a comma, a quote or a line break and doubles its quotes;
 *   the Node.js and TypeScript SDKs write every value as it is, a `"` inside one included.
 *
 * A line that cannot be read for sure fails with `CORRUPT_DATA` naming the source and the line,
 * never a guess: a wrong number of fields (an unquoted value held a comma or a line break), a
 * value starting with a quote in a file of an SDK that never quotes (it may have been edited: the
 * quotes may or may not be part of the value), a broken quoted value, an expiry that is not a
 * number. Nothing secret is quoted in errors.
 *
 * @param source names the text in errors, usually its file path.
 * @example
 * ```ts
 * import { parseOfficialCsv } from 'zoho-token-store/stores/file';
 * const [token] = parseOfficialCsv('id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n' +
 *   '1,ana@zylker.com:700001234,1000.C,"sec,ret",1000.r,1000.a,,1764000000000,,https://www.zohoapis.com\r\n');
 * token?.getClientSecret(); // 'sec,ret'
 * ```
 */
export function parseOfficialCsv(text: string | Buffer, source = 'the official token file'): OAuthToken[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const fail = (line: number, reason: string) =>
    new TokenStoreError(TokenStoreErrorCode.CORRUPT_DATA, `${source}, line ${line}: ${reason}`);

  // The header has no quotes in any SDK's file: read as is, it tells which SDK wrote the rest.
  const [header = []] = parse(bytes, { bom: true, to_line: 1, quote: false, relax_column_count: true }) as string[][];
  const width = header.length;
  if (
    (width !== 10 && width !== 9) ||
    header.some((name, i) => !(COLUMNS[i]?.[0] ?? []).some((known) => known === name))
  )
    throw fail(1, `not the official SDK's token file header (${EXPECTED_HEADER})`);
  const quoting = header.includes(QUOTING_WRITER_COLUMN);

  // Each record's first line, for errors: a record starts where the one before it ended.
  const lineOf = lineCounter(bytes);
  let recordStart = 0;
  const lines: number[] = [];
  let records: string[][];
  try {
    records = parse(bytes, {
      bom: true,
      quote: quoting ? '"' : false,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[], context) => {
        lines.push(lineOf(recordStart));
        recordStart = context.bytes;
        return record;
      },
    }) as string[][];
  } catch (error) {
    // csv-parse's own message quotes the value, which may be a secret: it is not kept.
    if (!(error instanceof CsvError)) throw error;
    const reason = QUOTE_ERRORS[error.code] ?? `it is not CSV as the official SDKs write it (${error.code})`;
    throw fail(
      lineOf(recordStart),
      `${reason}, so the fields cannot be told apart. Fix that line by hand and run the import again`,
    );
  }

  const tokens: OAuthToken[] = [];
  for (const [n, fields] of records.entries()) {
    if (n === 0) continue; // the header
    const line = lines[n] as number;
    if (fields.length === 1 && fields[0]?.trim() === '') continue;
    if (fields.length !== width) {
      const why = !quoting
        ? `${fields.length > width ? 'a value holds a comma' : 'a value holds a line break'}, which the official Node.js and TypeScript SDKs write unquoted`
        : 'a value holding a comma or a line break is not quoted';
      throw fail(
        line,
        `${fields.length} fields where the header has ${width}; ${why}, so the fields cannot be told apart. Fix that line by hand and run the import again`,
      );
    }
    if (!quoting && fields.some((value) => value.startsWith('"'))) {
      throw fail(
        line,
        'a value starts with a quote, which the official Node.js and TypeScript SDKs never add, so whether it is part of the value cannot be told. Fix that line by hand and run the import again',
      );
    }
    const expiry = fields[EXPIRY];
    if (expiry && !/^\d+$/.test(expiry)) throw fail(line, 'expiry_time is not a number of milliseconds');
    // A nine-column file has no api_domain: that field stays null.
    tokens.push(
      new OAuthToken(Object.fromEntries(fields.map((value, i) => [COLUMNS[i]?.[1], value === '' ? null : value]))),
    );
  }
  return tokens;
}

/**
 * Reads an official SDK FileStore's CSV token file (see {@link parseOfficialCsv}). A missing or
 * unreadable file fails with `STORAGE_FAILURE`, a malformed one with `CORRUPT_DATA`, both naming it.
 *
 * @example
 * ```ts
 * import { readOfficialTokenFile } from 'zoho-token-store/stores/file';
 * const tokens = await readOfficialTokenFile('./sdk_tokens.txt');
 * console.log(`${tokens.length} tokens`);
 * ```
 */
export async function readOfficialTokenFile(path: string): Promise<OAuthToken[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenStoreError(
      TokenStoreErrorCode.STORAGE_FAILURE,
      `cannot read the official token file ${path}${code ? ` (${code})` : ''}`,
      { cause: error },
    );
  }
  return parseOfficialCsv(bytes, path);
}
