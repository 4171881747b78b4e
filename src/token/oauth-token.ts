/** Anything with a user name: our {@link UserSignature} or the official SDK's. */
export interface UserSignatureLike {
  getName(): string | null | undefined;
}

/**
 * The accessors every store relies on. Our {@link OAuthToken} and the official
 * `@zohocrm/typescript-sdk-8.0` `OAuthToken` both have them, so stores accept either.
 */
export interface TokenLike {
  getId(): string | null;
  setId(id: string | null): void;
  getUserSignature(): UserSignatureLike | null;
  setUserSignature(userSignature: UserSignatureLike | null): void;
  getClientId(): string | null;
  setClientId(clientId: string | null): void;
  getClientSecret(): string | null;
  setClientSecret(clientSecret: string | null): void;
  getRedirectURL(): string | null;
  setRedirectURL(redirectURL: string | null): void;
  getGrantToken(): string | null;
  setGrantToken(grantToken: string | null): void;
  getRefreshToken(): string | null;
  setRefreshToken(refreshToken: string | null): void;
  getAccessToken(): string | null;
  setAccessToken(accessToken: string | null): void;
  /** Expiry as milliseconds since the epoch, in a string, as the official SDK keeps it. */
  getExpiresIn(): string | null;
  setExpiresIn(expiresIn: string | null): void;
  getAPIDomain(): string | null;
  setAPIDomain(apiDomain: string | null): void;
}

/** The user a token belongs to, by CRM email, as in the official SDK. */
export class UserSignature implements UserSignatureLike {
  private readonly name: string;

  constructor(name: string) {
    if (typeof name !== 'string') throw new TypeError('UserSignature needs the user name (email) as a string');
    this.name = name;
  }

  getName(): string {
    return this.name;
  }
}

/** Everything a token can carry, for {@link OAuthToken}'s constructor. All optional. */
export interface OAuthTokenFields {
  id?: string | null;
  /** The user's CRM email; becomes a {@link UserSignature}. */
  userName?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
  redirectURL?: string | null;
  grantToken?: string | null;
  refreshToken?: string | null;
  accessToken?: string | null;
  /** Expiry time: a Date, or milliseconds since the epoch as a number or string. */
  expiresIn?: Date | number | string | null;
  apiDomain?: string | null;
}

/**
 * A Zoho OAuth token with the official SDK's accessor names, so code written for
 * `@zohocrm/typescript-sdk-8.0` reads the same. Field names match the SDK's private
 * fields too, which its `mergeObjects` relies on.
 *
 * @example
 * ```ts
 * import { OAuthToken } from 'zoho-token-store';
 * const token = new OAuthToken({
 *   clientId: '1000.XXXX',
 *   clientSecret: 'secret',
 *   grantToken: '1000.code…',
 *   redirectURL: 'http://localhost:3000/oauth/callback',
 * });
 * token.getGrantToken(); // '1000.code…'
 * ```
 */
export class OAuthToken implements TokenLike {
  private id: string | null;
  private userSignature: UserSignatureLike | null;
  private clientID: string | null;
  private clientSecret: string | null;
  private redirectURL: string | null;
  private grantToken: string | null;
  private refreshToken: string | null;
  private accessToken: string | null;
  private expiresIn: string | null;
  private apiDomain: string | null;

  constructor(fields: OAuthTokenFields = {}) {
    this.id = fields.id ?? null;
    this.userSignature = fields.userName == null ? null : new UserSignature(fields.userName);
    this.clientID = fields.clientId ?? null;
    this.clientSecret = fields.clientSecret ?? null;
    this.redirectURL = fields.redirectURL ?? null;
    this.grantToken = fields.grantToken ?? null;
    this.refreshToken = fields.refreshToken ?? null;
    this.accessToken = fields.accessToken ?? null;
    this.expiresIn = expiryString(fields.expiresIn);
    this.apiDomain = fields.apiDomain ?? null;
  }

  getId(): string | null {
    return this.id;
  }
  setId(id: string | null): void {
    this.id = id;
  }
  getUserSignature(): UserSignatureLike | null {
    return this.userSignature;
  }
  setUserSignature(userSignature: UserSignatureLike | null): void {
    this.userSignature = userSignature;
  }
  getClientId(): string | null {
    return this.clientID;
  }
  setClientId(clientId: string | null): void {
    this.clientID = clientId;
  }
  getClientSecret(): string | null {
    return this.clientSecret;
  }
  setClientSecret(clientSecret: string | null): void {
    this.clientSecret = clientSecret;
  }
  getRedirectURL(): string | null {
    return this.redirectURL;
  }
  setRedirectURL(redirectURL: string | null): void {
    this.redirectURL = redirectURL;
  }
  getGrantToken(): string | null {
    return this.grantToken;
  }
  setGrantToken(grantToken: string | null): void {
    this.grantToken = grantToken;
  }
  getRefreshToken(): string | null {
    return this.refreshToken;
  }
  setRefreshToken(refreshToken: string | null): void {
    this.refreshToken = refreshToken;
  }
  getAccessToken(): string | null {
    return this.accessToken;
  }
  setAccessToken(accessToken: string | null): void {
    this.accessToken = accessToken;
  }
  getExpiresIn(): string | null {
    return this.expiresIn;
  }
  setExpiresIn(expiresIn: string | null): void {
    this.expiresIn = expiresIn;
  }
  getAPIDomain(): string | null {
    return this.apiDomain;
  }
  setAPIDomain(apiDomain: string | null): void {
    this.apiDomain = apiDomain;
  }

  /** The user name, or null: shorthand for `getUserSignature()?.getName()`. */
  getUserName(): string | null {
    return this.userSignature?.getName() ?? null;
  }
}

function expiryString(value: OAuthTokenFields['expiresIn']): string | null {
  if (value == null) return null;
  if (value instanceof Date) return String(value.getTime());
  return String(value);
}
