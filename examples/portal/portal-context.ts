import type { TokenLike, TokenStore } from 'zoho-token-store';
import type { Reply } from './http-reply.js';
import type { Viewer } from './layout.js';
import type { Session, Sessions } from './sessions.js';
import type { UserTokens } from './user-tokens.js';
import type { ZohoConnection } from './zoho-connection.js';

/** What every route works with: one per running portal. */
export interface PortalContext {
  sessions: Sessions;
  tokens: UserTokens;
  zoho: ZohoConnection;
  store: TokenStore<TokenLike>;
  /** Shown at the foot of every page: which Zoho, and to admins only, which store (its host is no one else's business). */
  footer(viewer: Viewer | null): string;
  /** The OAuth redirect path, from the redirect URL. */
  callbackPath: string;
  /** Who may use the admin page. */
  isAdmin(email: string): boolean;
  /** One line to the console; never given a secret. */
  log(line: string): void;
}

/** One request, as routes see it. */
export interface PortalRequest {
  method: string;
  url: URL;
  cookieHeader: string | undefined;
  /** The signed-in user, from a cookie whose signature checked out; null otherwise. */
  session: Session | null;
  /** The urlencoded form of a POST. */
  form(): Promise<URLSearchParams>;
}

/** A route: answers one method on one path. */
export type Route = (portal: PortalContext, request: PortalRequest) => Promise<Reply>;

/**
 * The signed-in user as the page frame shows them.
 *
 * @example
 * ```ts
 * const viewer = viewerOf(portal, session);
 * layout({ title: 'Dashboard', viewer, footer: portal.footer(viewer) }, content);
 * ```
 */
export function viewerOf(portal: PortalContext, session: Session): Viewer {
  return { email: session.email, csrfToken: session.csrfToken, isAdmin: portal.isAdmin(session.email) };
}
