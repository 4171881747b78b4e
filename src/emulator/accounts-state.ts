import { randomBytes } from 'node:crypto';
import type { EmulatorClock } from './clock.js';
import type { RegisteredClient, ResolvedOptions } from './options.js';
import { parseScopes } from './scopes.js';
import { SlidingWindow } from './sliding-window.js';

const TEN_MINUTES = 10 * 60_000;
const ACCESS_TOKEN_TTL_MS = 3_600_000;
const MAX_REFRESH_TOKENS = 20;

/** What a grant code, and the tokens made from it, stand for. */
export interface Grant {
  clientId: string;
  userEmail: string;
  scopes: readonly string[];
  accessType: 'offline' | 'online';
}

/** A live access token. */
export interface AccessToken extends Grant {
  expiresAt: number;
  refreshToken: string | null;
}

/** An unused grant code. */
export interface GrantCode extends Grant {
  /** The redirect URI the exchange must send; null for a self client's code, exchanged without one. */
  redirectUri: string | null;
  expiresAt: number;
}

/** A live refresh token. */
export interface RefreshToken extends Grant {
  /** Its access tokens, oldest first. */
  accessTokens: string[];
}

/** Events of a rate limit's window, per key. */
export type WindowEntries = [string, number[]][];

/**
 * Everything a restarted accounts server must still know: unused codes, live tokens (refresh tokens
 * in the order they were issued) and the rate-limit windows. Used codes and revoked or pushed-out
 * tokens are simply absent, so they stay refused.
 */
export interface AccountsSnapshot {
  codes: [string, GrantCode][];
  refreshTokens: [string, RefreshToken][];
  accessTokens: [string, AccessToken][];
  windows: { codesIssued: WindowEntries; refreshTokensIssued: WindowEntries; accessTokensMinted: WindowEntries };
}

/** Zoho's `error` values of the token endpoint. */
export type TokenError =
  | 'invalid_client'
  | 'invalid_client_secret'
  | 'invalid_redirect_uri'
  | 'invalid_code'
  | 'invalid_scope'
  | 'missing_org_info'
  | 'unsupported_grant_type';

/** The outcome of a token request, before it becomes HTTP. */
export type TokenResult =
  | { kind: 'tokens'; accessToken: string; refreshToken: string | null; scopes?: readonly string[] }
  | { kind: 'error'; error: TokenError }
  | { kind: 'throttled' };

/** What a grant code is asked for; `redirectUri` null for a self client's code. */
export interface CodeRequest extends Grant {
  redirectUri: string | null;
}

/** Parameters of `POST /oauth/v2/token`, as sent. */
export interface TokenParams {
  clientId?: string;
  clientSecret?: string;
  code?: string;
  redirectUri?: string;
  refreshToken?: string;
  /** Client credentials grant: comma-separated scopes. */
  scope?: string;
  /** Client credentials grant: `ZohoCRM.<org id>`. */
  soid?: string;
}

/** The org a client credentials token acts for: its admin, the CRM user whose email opened it. */
export interface OrgLookup {
  adminOfOrg(orgId: string): string | undefined;
}

/** A value shaped like Zoho's: `1000.` + 32 hex + `.` + 32 hex. */
function zohoToken(): string {
  return `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
}

const isLoopback = (uri: string): boolean => {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1');
  } catch {
    return false;
  }
};

/**
 * Zoho's accounts server in memory: grant codes, refresh and access tokens, and their limits.
 * {@link AccountsState.snapshot} and {@link AccountsState.restore} carry it across a restart.
 */
export class AccountsState {
  private readonly codes = new Map<string, GrantCode>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly accessTokens = new Map<string, AccessToken>();
  /** Refresh tokens per user and client, oldest first. */
  private readonly refreshTokensOf = new Map<string, string[]>();
  private readonly codesIssued = new SlidingWindow(10, TEN_MINUTES);
  private readonly refreshTokensIssued = new SlidingWindow(10, TEN_MINUTES);
  private readonly accessTokensMinted = new SlidingWindow(10, TEN_MINUTES);

  constructor(
    private readonly options: ResolvedOptions,
    private readonly clock: EmulatorClock,
  ) {}

  client(clientId: string | undefined): RegisteredClient | undefined {
    return this.options.clients.find((client) => client.clientId === clientId);
  }

  redirectAllowed(client: RegisteredClient, redirectUri: string): boolean {
    return client.redirectUris.includes(redirectUri) || (client.allowLoopbackRedirects && isLoopback(redirectUri));
  }

  /**
   * A new grant code, or null when the client already had 10 in the last 10 minutes.
   * `throttle: false` skips that limit, for codes tests issue directly.
   */
  issueCode(request: CodeRequest, { throttle }: { throttle: boolean }): string | null {
    const now = this.clock.now();
    if (throttle) {
      if (!this.codesIssued.allows(request.clientId, now)) return null;
      this.codesIssued.record(request.clientId, now);
    }
    for (const [code, grant] of this.codes) if (grant.expiresAt <= now) this.codes.delete(code);
    const code = zohoToken();
    this.codes.set(code, { ...request, expiresAt: now + this.options.grantCodeTtlMs });
    return code;
  }

  exchangeCode(params: TokenParams): TokenResult {
    const clientError = this.checkClient(params);
    if (clientError) return { kind: 'error', error: clientError };
    const now = this.clock.now();
    const grant = params.code === undefined ? undefined : this.codes.get(params.code);
    if (!grant || grant.clientId !== params.clientId || grant.expiresAt <= now) {
      return { kind: 'error', error: 'invalid_code' };
    }
    // A self client's code is tied to no redirect URI; a web code needs the one it was issued for.
    if (grant.redirectUri !== null && params.redirectUri !== grant.redirectUri) {
      return { kind: 'error', error: 'invalid_redirect_uri' };
    }
    const owner = `${grant.clientId}\n${grant.userEmail}`;
    const offline = grant.accessType === 'offline';
    if (offline && !this.refreshTokensIssued.allows(owner, now)) return { kind: 'throttled' };
    this.codes.delete(params.code as string);
    const issued: Grant = {
      clientId: grant.clientId,
      userEmail: grant.userEmail,
      scopes: grant.scopes,
      accessType: grant.accessType,
    };
    if (!offline) return { kind: 'tokens', accessToken: this.mint(issued, null), refreshToken: null };

    this.refreshTokensIssued.record(owner, now);
    const refreshToken = zohoToken();
    this.refreshTokens.set(refreshToken, { ...issued, accessTokens: [] });
    const owned = [...(this.refreshTokensOf.get(owner) ?? []), refreshToken];
    this.refreshTokensOf.set(owner, owned);
    // The 21st refresh token of a user and client deletes the oldest, with its access tokens.
    for (const oldest of owned.slice(0, Math.max(0, owned.length - MAX_REFRESH_TOKENS))) {
      this.deleteRefreshToken(oldest);
    }
    return { kind: 'tokens', accessToken: this.mint(issued, refreshToken), refreshToken };
  }

  /** A refresh grant. Only refreshes count toward the 10-per-10-minutes limit, not the code exchange's token. */
  refresh(params: TokenParams): TokenResult {
    const clientError = this.checkClient(params);
    if (clientError) return { kind: 'error', error: clientError };
    const record = params.refreshToken === undefined ? undefined : this.refreshTokens.get(params.refreshToken);
    if (!record || record.clientId !== params.clientId) return { kind: 'error', error: 'invalid_code' };
    const refreshToken = params.refreshToken as string;
    const now = this.clock.now();
    if (!this.accessTokensMinted.allows(refreshToken, now)) return { kind: 'throttled' };
    this.accessTokensMinted.record(refreshToken, now);
    return { kind: 'tokens', accessToken: this.mint(record, refreshToken), refreshToken: null };
  }

  /**
   * The client credentials grant: an access token, and no refresh token, for the org named by `soid`
   * (`ZohoCRM.<org id>`), acting as the org's admin. Every grant counts toward the same limit as
   * refreshes, 10 access tokens per 10 minutes, here per client and org.
   */
  clientCredentials(params: TokenParams, orgs: OrgLookup): TokenResult {
    const clientError = this.checkClient(params);
    if (clientError) return { kind: 'error', error: clientError };
    const scopes = parseScopes(params.scope ?? '');
    if (scopes.length === 0) return { kind: 'error', error: 'invalid_scope' };
    const orgId = /^ZohoCRM\.(\d+)$/.exec(params.soid ?? '')?.[1];
    const admin = orgId === undefined ? undefined : orgs.adminOfOrg(orgId);
    if (admin === undefined) return { kind: 'error', error: 'missing_org_info' };
    // A newline never occurs in a refresh token, so these keys share the window without colliding.
    const key = `client_credentials\n${params.clientId}\n${orgId}`;
    const now = this.clock.now();
    if (!this.accessTokensMinted.allows(key, now)) return { kind: 'throttled' };
    this.accessTokensMinted.record(key, now);
    const grant: Grant = { clientId: params.clientId as string, userEmail: admin, scopes, accessType: 'online' };
    return { kind: 'tokens', accessToken: this.mint(grant, null), refreshToken: null, scopes };
  }

  /** Revokes a refresh token and its access tokens; false when it is unknown. */
  revoke(refreshToken: string): boolean {
    if (!this.refreshTokens.has(refreshToken)) return false;
    this.deleteRefreshToken(refreshToken);
    return true;
  }

  /** The live access token, or undefined when unknown, expired or revoked. */
  accessToken(token: string): AccessToken | undefined {
    const record = this.accessTokens.get(token);
    if (record && record.expiresAt <= this.clock.now()) {
      this.accessTokens.delete(token);
      return undefined;
    }
    return record;
  }

  /** The state as plain data, without expired codes and access tokens. */
  snapshot(): AccountsSnapshot {
    const now = this.clock.now();
    const live = <T extends { expiresAt: number }>(entries: Iterable<[string, T]>): [string, T][] =>
      [...entries].filter(([, record]) => record.expiresAt > now).map(([key, record]) => [key, { ...record }]);
    return {
      codes: live(this.codes),
      refreshTokens: [...this.refreshTokens].map(([token, record]) => [
        token,
        {
          ...record,
          accessTokens: record.accessTokens.filter((t) => (this.accessTokens.get(t)?.expiresAt ?? 0) > now),
        },
      ]),
      accessTokens: live(this.accessTokens),
      windows: {
        codesIssued: this.codesIssued.snapshot(now),
        refreshTokensIssued: this.refreshTokensIssued.snapshot(now),
        accessTokensMinted: this.accessTokensMinted.snapshot(now),
      },
    };
  }

  /** Replaces the whole state with a {@link snapshot}'s. */
  restore(snapshot: AccountsSnapshot): void {
    this.codes.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.refreshTokensOf.clear();
    for (const [code, grant] of snapshot.codes) this.codes.set(code, { ...grant });
    for (const [token, record] of snapshot.accessTokens) this.accessTokens.set(token, { ...record });
    for (const [token, record] of snapshot.refreshTokens) {
      const accessTokens = record.accessTokens.filter((t) => this.accessTokens.get(t)?.refreshToken === token);
      this.refreshTokens.set(token, { ...record, accessTokens });
      const owner = `${record.clientId}\n${record.userEmail}`;
      this.refreshTokensOf.set(owner, [...(this.refreshTokensOf.get(owner) ?? []), token]);
    }
    this.codesIssued.restore(snapshot.windows.codesIssued);
    this.refreshTokensIssued.restore(snapshot.windows.refreshTokensIssued);
    this.accessTokensMinted.restore(snapshot.windows.accessTokensMinted);
  }

  private checkClient(params: TokenParams): TokenError | null {
    const client = this.client(params.clientId);
    if (!client) return 'invalid_client';
    return client.clientSecret === params.clientSecret ? null : 'invalid_client_secret';
  }

  private mint(grant: Grant, refreshToken: string | null): string {
    const token = zohoToken();
    const expiresAt = this.clock.now() + ACCESS_TOKEN_TTL_MS;
    const { clientId, userEmail, scopes, accessType } = grant;
    this.accessTokens.set(token, { clientId, userEmail, scopes, accessType, expiresAt, refreshToken });
    const record = refreshToken === null ? undefined : this.refreshTokens.get(refreshToken);
    if (record) {
      // Zoho keeps a bounded number of live access tokens per refresh token: the newest push out the oldest.
      record.accessTokens = record.accessTokens.filter((t) => this.accessToken(t));
      while (record.accessTokens.length >= this.options.maxActiveAccessTokens) {
        this.accessTokens.delete(record.accessTokens.shift() as string);
      }
      record.accessTokens.push(token);
    }
    return token;
  }

  private deleteRefreshToken(refreshToken: string): void {
    const record = this.refreshTokens.get(refreshToken);
    if (!record) return;
    for (const token of record.accessTokens) this.accessTokens.delete(token);
    this.refreshTokens.delete(refreshToken);
    this.accessTokensMinted.forget(refreshToken);
    const owner = `${record.clientId}\n${record.userEmail}`;
    const owned = (this.refreshTokensOf.get(owner) ?? []).filter((t) => t !== refreshToken);
    if (owned.length > 0) this.refreshTokensOf.set(owner, owned);
    else this.refreshTokensOf.delete(owner);
  }
}
