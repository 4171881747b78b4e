import {
  type Environment,
  emailOf,
  OAuthToken,
  type TokenLike,
  TokenManager,
  type TokenReference,
  type TokenStore,
  withTokenLock,
} from 'zoho-token-store';
import { mustSignInAgain, PortalError, SIGN_IN_EXPIRED } from './friendly-errors.js';
import type { ZohoConnection } from './zoho-connection.js';

/** Who signed in: the email, and the id of the stored token the sign-in saved. */
export interface SignedInUser {
  email: string;
  tokenId: string;
}

/** A user's manager and the id of the stored token it was made for. */
interface UserManager {
  manager: TokenManager;
  tokenId: string;
}

/**
 * One {@link TokenManager} per signed-in user, kept in memory so a page load gets its access token
 * without touching the store. After a restart the map is empty and each user's manager is made
 * again from the stored token, with no new sign-in.
 *
 * @example
 * ```ts
 * const tokens = new UserTokens(store, zoho, console.log);
 * const { email, tokenId } = await tokens.signIn(code, zoho.environmentOfRedirect(query));
 * const manager = await tokens.managerFor({ email, tokenId }); // null once that token is gone
 * ```
 */
export class UserTokens {
  readonly #store: TokenStore<TokenLike>;
  readonly #zoho: ZohoConnection;
  readonly #log: (line: string) => void;
  // Promises, so that two first requests of one user share one manager.
  readonly #managers = new Map<string, Promise<UserManager | null>>();

  constructor(store: TokenStore<TokenLike>, zoho: ZohoConnection, log: (line: string) => void) {
    this.#store = store;
    this.#zoho = zoho;
    this.#log = log;
  }

  /**
   * Exchanges the grant code of the OAuth redirect; the manager learns the user's email from
   * CurrentUser and saves the token under it. Returns that email and the stored token's id.
   *
   * @throws PortalError `Sign-in expired` when Zoho refuses the code (spent or expired).
   */
  async signIn(code: string, environment: Environment): Promise<SignedInUser> {
    const manager = this.#manager(environment, { grantToken: code });
    const token = await manager.getToken().catch((error: unknown) => {
      throw mustSignInAgain(error) ? new PortalError(SIGN_IN_EXPIRED) : error;
    });
    const email = emailOfUser(token);
    if (!email) {
      // A token no one can be signed in with must not linger at Zoho or in the store.
      await manager.revoke();
      throw new PortalError({
        status: 502,
        title: 'Zoho did not say who you are',
        message: 'Your Zoho user could not be read. Please try again.',
      });
    }
    const tokenId = token.getId() as string;
    this.#managers.set(email, Promise.resolve({ manager, tokenId }));
    this.#log(`${email} signed in`);
    return { email, tokenId };
  }

  /**
   * The user's manager, made from the stored token on first use; null when the store has none, or
   * when the user's stored token is no longer the one this sign-in saved.
   */
  async managerFor(user: SignedInUser): Promise<TokenManager | null> {
    const entry = await this.#entryFor(user.email);
    return entry?.tokenId === user.tokenId ? entry.manager : null;
  }

  /**
   * Signs the user out for good: revokes the token at Zoho and deletes it from the store. A
   * session of a token already gone (signed in again since) only ends: the newer token stays.
   */
  async signOut(user: SignedInUser): Promise<void> {
    const manager = await this.managerFor(user);
    await manager?.revoke();
    this.forget(user.email);
    this.#log(`${user.email} signed out${manager ? '; token revoked' : ''}`);
  }

  /** Revokes the stored token with this id at Zoho and deletes it. Returns it, or null when there is none. */
  async revokeById(id: string): Promise<TokenLike | null> {
    const token = await this.#store.findTokenById(id);
    if (!token) return null;
    await this.#manager(this.#zoho.environmentOf(token), { id }).revoke();
    this.#forgetOwner(token, 'revoked by an admin');
    return token;
  }

  /** Deletes the stored token with this id, without telling Zoho. Returns it, or null when there is none. */
  async deleteById(id: string): Promise<TokenLike | null> {
    // Under the token's refresh lock, so a refresh in flight cannot save it back afterwards.
    const token = await withTokenLock(this.#store, id, async () => {
      const found = await this.#store.findTokenById(id);
      if (found) await this.#store.deleteToken(id);
      return found;
    });
    if (!token) return null;
    this.#forgetOwner(token, 'deleted by an admin');
    return token;
  }

  /**
   * After Zoho refused the user's token for good (revoked, refresh refused): deletes it from the
   * store if it is still the one this session signed in with, since a dead refresh token is of no
   * use, and drops the manager. The next sign-in then saves a new row with a new id, so no session
   * of the dead token comes back to life with it.
   */
  async discard(user: SignedInUser): Promise<void> {
    const ours = await withTokenLock(this.#store, user.tokenId, async () => {
      const stored = await this.#store.findToken(new OAuthToken({ userName: user.email }));
      if (stored?.getId() !== user.tokenId) return false;
      await this.#store.deleteToken(user.tokenId);
      return true;
    });
    this.forget(user.email);
    this.#log(`${user.email}: token refused by Zoho${ours ? '; deleted' : ''}`);
  }

  /** Drops the user's manager: their next page load reads the store again. */
  forget(email: string): void {
    this.#managers.delete(email);
  }

  #forgetOwner(token: TokenLike, what: string): void {
    const email = emailOfUser(token);
    if (email) this.forget(email);
    this.#log(`token ${token.getId()} of ${email ?? 'an unknown user'} ${what}`);
  }

  #entryFor(email: string): Promise<UserManager | null> {
    const known = this.#managers.get(email);
    if (known) return known;
    const loading = this.#load(email);
    this.#managers.set(email, loading);
    const drop = () => {
      if (this.#managers.get(email) === loading) this.#managers.delete(email);
    };
    // A user with no stored token is looked up again next time: they may have signed in since.
    loading.then((entry) => {
      if (!entry) drop();
    }, drop);
    return loading;
  }

  async #load(email: string): Promise<UserManager | null> {
    const token = await this.#store.findToken(new OAuthToken({ userName: email }));
    if (!token) return null;
    return {
      manager: this.#manager(this.#zoho.environmentOf(token), { userName: email }),
      tokenId: token.getId() as string,
    };
  }

  #manager(environment: Environment, token: TokenReference): TokenManager {
    const manager = new TokenManager({ environment, store: this.#store, client: this.#zoho.client, token });
    manager.on('refreshed', (summary) =>
      this.#log(`${summary.userName}: access token refreshed, valid until ${summary.expiresAt}`),
    );
    return manager;
  }
}

/** The email of a token's user, named `email:zgid` as the official SDK names it, or plain. */
export function emailOfUser(token: TokenLike): string | undefined {
  const name = token.getUserSignature()?.getName() ?? null;
  return emailOf(name) ?? name ?? undefined;
}
