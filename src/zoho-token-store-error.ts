/**
 * Marks every error of this library. A registered symbol is the same in every copy of the package
 * and every realm, where `instanceof` is not (two installed versions, a test runner's sandbox).
 */
const BRAND = Symbol.for('zoho-token-store.error');

/**
 * The base class of every error this library raises: {@link TokenStoreError}, `TokenManagerError`,
 * `OAuthError`, `CrmError` and the emulator's `EmulatorStateError`. Each subclass keeps its own
 * `name` and codes; all carry a `code` to compare against (never the message) and the error behind
 * them as `cause`. Catch it with {@link isZohoTokenStoreError}, which also knows the errors of
 * another copy of this package.
 *
 * @example
 * ```ts
 * import { isZohoTokenStoreError } from 'zoho-token-store';
 * try {
 *   await manager.getAccessToken('ana@zylker.com');
 * } catch (error) {
 *   if (!isZohoTokenStoreError(error)) throw error;
 *   console.error(`${error.name} ${error.code}: ${error.message}`);
 * }
 * ```
 */
export class ZohoTokenStoreError extends Error {
  override readonly name: string = 'ZohoTokenStoreError';
  /** What went wrong, as one of the subclass's exported codes. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

Object.defineProperty(ZohoTokenStoreError.prototype, BRAND, { value: true });

/**
 * True for any error of this library ({@link ZohoTokenStoreError} and its subclasses), also one
 * from another copy of this package or another realm (matched by a registered symbol).
 *
 * @example
 * ```ts
 * if (isZohoTokenStoreError(error)) log.warn({ code: error.code }, error.message);
 * ```
 */
export function isZohoTokenStoreError(value: unknown): value is ZohoTokenStoreError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
