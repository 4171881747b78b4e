import type { TokenStore } from '../store/token-store.js';
import type { TokenLike, UserSignatureLike } from '../token/oauth-token.js';
import { fillToken, recordOf } from '../token/token-record.js';
import { type AnyClass, requiredSdkClass, sdkClass, storeBase } from './sdk-classes.js';

/**
 * The classes {@link forOfficialSdk} needs from a current official SDK: pass the SDK's module
 * itself (`import * as sdk from '@zohocrm/nodejs-sdk-8.0'`, or the default export of
 * `@zohocrm/typescript-sdk-*`), or just these members.
 */
export interface OfficialSdkClasses<T> {
  /** The SDK's `OAuthToken` class (or its ESM namespace): tokens handed back are of this class. */
  OAuthToken: AnyClass<T> | { OAuthToken: AnyClass<T> };
  /** The SDK's `TokenStore` (class or namespace): the adapter extends it when it is a class. */
  TokenStore?: unknown;
  /** The SDK's `UserSignature`: the users on tokens handed back are of this class when given. */
  UserSignature?: unknown;
}

/** The six methods of the current official SDKs' `TokenStore`, on the SDK's own token class. */
export interface OfficialSdkStore<T> {
  findToken(token: T): Promise<T | null>;
  saveToken(token: T): Promise<void>;
  deleteToken(id: string): Promise<void>;
  getTokens(): Promise<T[]>;
  deleteTokens(): Promise<void>;
  findTokenById(id: string): Promise<T | null>;
}

/**
 * Hands any of our stores to a current official Zoho CRM SDK (`@zohocrm/nodejs-sdk-7.0`/`-8.0`,
 * `@zohocrm/typescript-sdk-6.0`/`-7.0`/`-8.0`): an instance of the SDK's own `TokenStore` class
 * where it has one (its `InitializeBuilder.store()` checks `instanceof`), forwarding the six
 * methods to `store` and handing back tokens (and user signatures) of the SDK's own classes.
 *
 * @example
 * ```ts
 * import * as sdk from '@zohocrm/nodejs-sdk-8.0';
 * import { forOfficialSdk } from 'zoho-token-store/sdk';
 * import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
 *
 * const store = forOfficialSdk(new SQLiteStore({ path: 'tokens.db' }), sdk);
 * // The node SDKs' builder constructor returns a promise: await it.
 * await (await new sdk.InitializeBuilder()).environment(env).token(token).store(store).initialize();
 * ```
 */
export function forOfficialSdk<T extends object>(
  store: TokenStore<TokenLike>,
  sdk: OfficialSdkClasses<T>,
): OfficialSdkStore<T> {
  const SdkToken = requiredSdkClass<T>(sdk.OAuthToken, 'OAuthToken', 'forOfficialSdk');
  const SdkUser = sdkClass<object>(sdk.UserSignature, 'UserSignature');

  /** The token as the SDK's class, its user as the SDK's `UserSignature`. */
  const asSdkToken = (token: TokenLike): T => {
    const sdkToken = (
      token instanceof SdkToken
        ? token
        : fillToken(Reflect.construct(SdkToken, []), recordOf(token, token.getId() ?? ''))
    ) as T & TokenLike;
    const name = sdkToken.getUserSignature()?.getName();
    if (SdkUser !== undefined && name != null && !(sdkToken.getUserSignature() instanceof SdkUser)) {
      sdkToken.setUserSignature(Reflect.construct(SdkUser, [name]) as UserSignatureLike);
    }
    return sdkToken;
  };

  const Base = storeBase(sdk.TokenStore) as new () => object;
  class OfficialSdkTokenStore extends Base implements OfficialSdkStore<T> {
    async findToken(token: T): Promise<T | null> {
      const found = await store.findToken(token as T & TokenLike);
      return found === null ? null : asSdkToken(found);
    }
    saveToken(token: T): Promise<void> {
      return store.saveToken(token as T & TokenLike);
    }
    deleteToken(id: string): Promise<void> {
      return store.deleteToken(id);
    }
    async getTokens(): Promise<T[]> {
      return (await store.getTokens()).map(asSdkToken);
    }
    deleteTokens(): Promise<void> {
      return store.deleteTokens();
    }
    async findTokenById(id: string): Promise<T | null> {
      const found = await store.findTokenById(id);
      return found === null ? null : asSdkToken(found);
    }
  }
  return new OfficialSdkTokenStore();
}
