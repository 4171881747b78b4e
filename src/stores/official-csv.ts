import { readFile } from 'node:fs/promises';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { OAuthToken, type OAuthTokenFields } from '../token/oauth-token.js';

// The official FileStore's header, and the OAuthToken field each column fills; SDKs before
// api_domain existed wrote the first nine columns only.
const COLUMNS = [
  ['id', 'id'],
  ['user_mail', 'userName'],
  ['client_id', 'clientId'],
  ['client_secret', 'clientSecret'],
  ['refresh_token', 'refreshToken'],
  ['access_token', 'accessToken'],
  ['grant_token', 'grantToken'],
  ['expiry_time', 'expiresIn'],
  ['redirect_url', 'redirectURL'],
  ['api_domain', 'apiDomain'],
] as const satisfies readonly (readonly [string, keyof OAuthTokenFields])[];
const HEADER = COLUMNS.map(([column]) => column);
const EXPIRY = HEADER.indexOf('expiry_time');

/**
 * Parses the token file of the official `@zohocrm/typescript-sdk-8.0` FileStore. Its format, as
 * that SDK writes and reads it: a header line `id,user_mail,client_id,client_secret,
 * refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain` (older SDKs: without
 * `api_domain`), then one line per token, fields joined by `,` with no quoting or escaping at all
 * (a `"` is part of the value), an empty field meaning null, lines split on `\n`, blank lines
 * ignored. A line whose field count is wrong (a value held a comma or a line break, which that SDK
 * writes as is) or whose expiry is not a number fails with `CORRUPT_DATA` naming the source and
 * line, never a guess. Nothing secret is quoted in errors.
 *
 * @param source names the text in errors, usually its file path.
 * @example
 * ```ts
 * import { parseOfficialCsv } from 'zoho-token-store/stores/file';
 * const [token] = parseOfficialCsv('id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain\n' +
 *   '1,ana@zylker.com,1000.C,secret,1000.r,1000.a,,1764000000000,,https://www.zohoapis.com');
 * token?.getUserSignature()?.getName(); // 'ana@zylker.com'
 * ```
 */
export function parseOfficialCsv(text: string, source = 'the official token file'): OAuthToken[] {
  const lines = text.split('\n');
  // A file saved with Windows line ends: every line then ends in \r, the header included.
  const crlf = lines[0]?.endsWith('\r') === true;
  const lineAt = (n: number) => {
    const line = lines[n] as string;
    return crlf && line.endsWith('\r') ? line.slice(0, -1) : line;
  };
  const fail = (line: number, reason: string) =>
    new TokenStoreError(TokenStoreErrorCode.CORRUPT_DATA, `${source}, line ${line}: ${reason}`);

  const header = lineAt(0)
    .replace(/^\uFEFF/, '')
    .split(',');
  const width = header.length;
  if ((width !== 10 && width !== 9) || header.some((name, i) => name !== HEADER[i])) {
    throw fail(1, `not the official SDK's token file header (${HEADER.join(',')})`);
  }
  const tokens: OAuthToken[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lineAt(n);
    if (line.trim() === '') continue;
    const fields = line.split(',').map((value) => (value === '' ? null : value));
    if (fields.length !== width) {
      const why = fields.length > width ? 'a value holds a comma' : 'a value holds a line break';
      throw fail(
        n + 1,
        `${fields.length} fields where the header has ${width}; ${why}, which the official FileStore writes unquoted, so the fields cannot be told apart. Fix that line by hand and run the import again`,
      );
    }
    const expiry = fields[EXPIRY];
    if (expiry != null && !/^\d+$/.test(expiry)) throw fail(n + 1, 'expiry_time is not a number of milliseconds');
    // A nine-column file has no api_domain: that field stays null.
    tokens.push(new OAuthToken(Object.fromEntries(fields.map((value, i) => [COLUMNS[i]?.[1], value]))));
  }
  return tokens;
}

/**
 * Reads the official SDK FileStore's CSV token file (see {@link parseOfficialCsv}). A missing or
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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenStoreError(
      TokenStoreErrorCode.STORAGE_FAILURE,
      `cannot read the official token file ${path}${code ? ` (${code})` : ''}`,
      { cause: error },
    );
  }
  return parseOfficialCsv(text, path);
}
