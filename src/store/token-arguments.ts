import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenLike } from '../token/oauth-token.js';
import { isTokenLike, recordOf } from '../token/token-record.js';

// A NUL, or a UTF-16 surrogate without its pair: PostgreSQL refuses a NUL, and every server's
// UTF-8 encoding silently changes a lone surrogate, so the value saved would not be found again.
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string survives every store unchanged: it holds no NUL and no lone surrogate. */
export const storable = (value: string): boolean => !UNSTORABLE.test(value);

/**
 * Checks a token argument at the contract, before any store sees it: an object with the token
 * accessors, whose every string field is {@link storable}. The message names the field, never its value.
 *
 * @throws TokenStoreError `INVALID_TOKEN`
 */
export function assertToken(token: unknown, operation: string): asserts token is TokenLike {
  if (!isTokenLike(token)) {
    throw new TokenStoreError(
      TokenStoreErrorCode.INVALID_TOKEN,
      `${operation}: expected an OAuthToken (an object with getAccessToken(), getUserSignature(), …)`,
    );
  }
  for (const [field, value] of Object.entries(recordOf(token, token.getId() as string))) {
    if (typeof value === 'string' && !storable(value)) {
      throw new TokenStoreError(
        TokenStoreErrorCode.INVALID_TOKEN,
        `${operation}: the token's ${field} holds a NUL or a lone UTF-16 surrogate, which no store keeps`,
      );
    }
  }
}

/**
 * Checks an id argument: a non-empty {@link storable} string.
 *
 * @throws TokenStoreError `INVALID_ID`
 */
export function assertId(id: unknown, operation: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TokenStoreError(TokenStoreErrorCode.INVALID_ID, `${operation}: the id must be a non-empty string`);
  }
  if (!storable(id)) {
    throw new TokenStoreError(
      TokenStoreErrorCode.INVALID_ID,
      `${operation}: the id holds a NUL or a lone UTF-16 surrogate, which no store keeps`,
    );
  }
}
