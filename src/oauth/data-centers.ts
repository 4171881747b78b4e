import { OAuthError, OAuthErrorCode } from './oauth-error.js';

/** A Zoho data center: where a user's account and data live. A token works only in its own. */
export type DataCenterCode = 'US' | 'EU' | 'IN' | 'CN' | 'AU' | 'JP' | 'CA' | 'SA' | 'UK';

/** The CRM environments every data center offers, each with its own API domain. */
export type EnvironmentKind = 'production' | 'sandbox' | 'developer';

/** Where to send OAuth calls and CRM API calls. Make one with {@link environmentFor} or {@link customEnvironment}. */
export interface Environment {
  /** A label for logs, such as `US production`. */
  readonly name: string;
  /** The Zoho data center, or null for a custom environment outside Zoho (emulator, proxy). */
  readonly dataCenter: DataCenterCode | null;
  /** Which API environment of the data center; `custom` for one made by {@link customEnvironment}. */
  readonly kind: EnvironmentKind | 'custom';
  /** The accounts server, without a trailing slash; the token endpoint is `{accountsUrl}/oauth/v2/token`. */
  readonly accountsUrl: string;
  /** The CRM API base, without a trailing slash, such as `https://www.zohoapis.com`. */
  readonly apiBaseUrl: string;
  /**
   * Set by {@link customEnvironment} with its `allowInsecureHttp` option: the clients then send
   * secrets over plain http to this environment's own hosts also off loopback.
   */
  readonly allowInsecureHttp?: boolean;
}

/** One row of {@link DATA_CENTERS}. */
export interface DataCenter {
  /** The accounts server, such as `https://accounts.zoho.com`. */
  readonly accountsUrl: string;
  /** The value of the `location` parameter Zoho adds to the OAuth redirect, such as `us`. */
  readonly location: string;
  /** The production API domain, such as `https://www.zohoapis.com`. */
  readonly apiDomain: string;
}

const dc = (accountsUrl: string, location: string, apiDomain: string): DataCenter =>
  Object.freeze({ accountsUrl, location, apiDomain });

/**
 * Zoho's data centers, as the official SDK lists them, plus UK from Zoho's multi-DC page (the SDK
 * does not know it).
 *
 * @example
 * ```ts
 * DATA_CENTERS.EU.accountsUrl; // 'https://accounts.zoho.eu'
 * ```
 */
export const DATA_CENTERS: Readonly<Record<DataCenterCode, DataCenter>> = Object.freeze({
  US: dc('https://accounts.zoho.com', 'us', 'https://www.zohoapis.com'),
  EU: dc('https://accounts.zoho.eu', 'eu', 'https://www.zohoapis.eu'),
  IN: dc('https://accounts.zoho.in', 'in', 'https://www.zohoapis.in'),
  CN: dc('https://accounts.zoho.com.cn', 'cn', 'https://www.zohoapis.com.cn'),
  AU: dc('https://accounts.zoho.com.au', 'au', 'https://www.zohoapis.com.au'),
  JP: dc('https://accounts.zoho.jp', 'jp', 'https://www.zohoapis.jp'),
  CA: dc('https://accounts.zohocloud.ca', 'ca', 'https://www.zohoapis.ca'),
  SA: dc('https://accounts.zoho.sa', 'sa', 'https://www.zohoapis.sa'),
  UK: dc('https://accounts.zoho.uk', 'uk', 'https://www.zohoapis.uk'),
});

const CODES = Object.keys(DATA_CENTERS) as DataCenterCode[];
const KINDS: readonly EnvironmentKind[] = ['production', 'sandbox', 'developer'];

/** Sandbox and developer API domains swap the `www.` of production for their own name, as in the official SDK. */
const apiBaseUrlOf = (code: DataCenterCode, kind: EnvironmentKind) =>
  kind === 'production' ? DATA_CENTERS[code].apiDomain : DATA_CENTERS[code].apiDomain.replace('://www.', `://${kind}.`);

/** Every Zoho API host name, of every kind, to its data center. */
const API_HOSTS: ReadonlyMap<string, DataCenterCode> = new Map(
  CODES.flatMap((code) => KINDS.map((kind) => [new URL(apiBaseUrlOf(code, kind)).hostname, code] as const)),
);

/** Every Zoho host name, accounts and API, to its data center. */
const HOSTS: ReadonlyMap<string, DataCenterCode> = new Map([
  ...CODES.map((code) => [new URL(DATA_CENTERS[code].accountsUrl).hostname, code] as const),
  ...API_HOSTS,
]);

/**
 * The environment of a Zoho data center.
 *
 * @param kind `production` (default), `sandbox` or `developer`: they share the accounts server and
 *   differ in the API domain (`www.zohoapis.com`, `sandbox.zohoapis.com`, `developer.zohoapis.com`).
 * @example
 * ```ts
 * const env = environmentFor('EU', 'sandbox');
 * env.accountsUrl; // 'https://accounts.zoho.eu'
 * env.apiBaseUrl; // 'https://sandbox.zohoapis.eu'
 * ```
 */
export function environmentFor(dataCenter: DataCenterCode, kind: EnvironmentKind = 'production'): Environment {
  if (!CODES.includes(dataCenter)) throw new TypeError(`Unknown Zoho data center: ${String(dataCenter)}`);
  if (!KINDS.includes(kind)) throw new TypeError(`Unknown environment kind: ${String(kind)}`);
  return Object.freeze({
    name: `${dataCenter} ${kind}`,
    dataCenter,
    kind,
    accountsUrl: DATA_CENTERS[dataCenter].accountsUrl,
    apiBaseUrl: apiBaseUrlOf(dataCenter, kind),
  });
}

/** Options for {@link customEnvironment}. */
export interface CustomEnvironmentOptions {
  /** Base URL of the CRM API (`/crm/v8/...` is appended). */
  apiBaseUrl: string;
  /** Base URL of the accounts server (`/oauth/v2/token` is appended). */
  accountsUrl: string;
  /** A label for logs. Default `custom`. */
  name?: string;
  /**
   * Allow `http:` on hosts other than loopback. Off by default, because the client secret and
   * tokens would cross the network in clear text.
   */
  allowInsecureHttp?: boolean;
}

/**
 * An environment outside Zoho's data centers: the local emulator, or a proxy in front of Zoho.
 * URLs must be absolute `https:` URLs (`http:` only on loopback unless `allowInsecureHttp`), without
 * credentials, query or fragment; a trailing slash is dropped.
 *
 * @throws TypeError when a URL is unusable.
 * @example
 * ```ts
 * const env = customEnvironment({ apiBaseUrl: 'http://127.0.0.1:4010', accountsUrl: 'http://127.0.0.1:4010' });
 * ```
 */
export function customEnvironment(options: CustomEnvironmentOptions): Environment {
  const allowHttp = options.allowInsecureHttp === true;
  const accountsUrl = baseUrl(options.accountsUrl, 'accountsUrl', allowHttp);
  return Object.freeze({
    name: options.name ?? 'custom',
    dataCenter: null,
    kind: 'custom',
    accountsUrl,
    apiBaseUrl: baseUrl(options.apiBaseUrl, 'apiBaseUrl', allowHttp),
    ...(allowHttp ? { allowInsecureHttp: true } : {}),
  });
}

/** The `location` and `accounts-server` query parameters of Zoho's OAuth redirect. */
export interface RedirectParams {
  /** `location`, such as `us`. */
  location?: string | null;
  /** `accounts-server`, such as `https://accounts.zoho.com`. */
  accountsServer?: string | null;
}

/** Options for {@link environmentFromRedirect}. */
export interface RedirectEnvironmentOptions {
  /**
   * Accept an `accounts-server` that is no Zoho data center, as a custom environment whose accounts
   * and API base are that server. Only for the emulator or tests: whoever can forge the redirect
   * would otherwise receive the client secret and the grant code.
   */
  allowCustomAccountsServer?: boolean;
  /** Passed to {@link customEnvironment} for such a server. */
  allowInsecureHttp?: boolean;
}

/**
 * The environment a grant code belongs to, from the parameters of Zoho's OAuth redirect
 * (`?code=…&location=us&accounts-server=https%3A%2F%2Faccounts.zoho.com`). The code must be exchanged
 * at that accounts server. `accounts-server` wins over `location`; a server is recognised only when it
 * is exactly a Zoho accounts origin.
 *
 * @param kind the API environment to use in that data center. Default `production`.
 * @throws OAuthError {@link OAuthErrorCode.UNKNOWN_DATA_CENTER} when neither parameter names a known
 *   data center (and `allowCustomAccountsServer` is off).
 * @example
 * ```ts
 * const query = new URL(request.url, 'http://localhost').searchParams;
 * const env = environmentFromRedirect({ location: query.get('location'), accountsServer: query.get('accounts-server') });
 * const grant = await exchangeAuthorizationCode(env, client, query.get('code') ?? '');
 * ```
 */
export function environmentFromRedirect(
  params: RedirectParams,
  kind: EnvironmentKind = 'production',
  options: RedirectEnvironmentOptions = {},
): Environment {
  const server = params.accountsServer?.trim();
  if (server) {
    const code = accountsServerDataCenter(server);
    if (code) return environmentFor(code, kind);
    if (options.allowCustomAccountsServer === true) {
      return customEnvironment({
        accountsUrl: server,
        apiBaseUrl: server,
        name: 'custom (from redirect)',
        allowInsecureHttp: options.allowInsecureHttp === true,
      });
    }
    // The server is attacker-controllable input: refuse it, and keep it out of the message (and so out of logs).
    throw new OAuthError(
      OAuthErrorCode.UNKNOWN_DATA_CENTER,
      'The OAuth redirect names an accounts server that is no Zoho data center; refusing to send it the client secret',
    );
  }
  const location = params.location?.trim().toLowerCase();
  if (location) {
    const code = CODES.find((candidate) => DATA_CENTERS[candidate].location === location);
    if (code) return environmentFor(code, kind);
    throw new OAuthError(
      OAuthErrorCode.UNKNOWN_DATA_CENTER,
      'The OAuth redirect names a location that is no known Zoho data center',
    );
  }
  throw new OAuthError(
    OAuthErrorCode.UNKNOWN_DATA_CENTER,
    'The OAuth redirect carries neither accounts-server nor location',
  );
}

/**
 * The data center of a Zoho accounts or API URL (production, sandbox or developer), or null for any
 * other URL, including `http:` and non-default ports.
 *
 * @example
 * ```ts
 * dataCenterOf('https://www.zohoapis.com.au/crm/v8/Leads'); // 'AU'
 * dataCenterOf('https://accounts.zohocloud.ca'); // 'CA'
 * ```
 */
export function dataCenterOf(url: string): DataCenterCode | null {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (parsed?.protocol !== 'https:' || parsed.port !== '' || parsed.username || parsed.password) return null;
  return HOSTS.get(parsed.hostname) ?? null;
}

/**
 * Whether a token of `environment` may be sent to `url`. For a Zoho data center: `https:` on one of
 * its API hosts (production, sandbox or developer) at the default port; accounts hosts are not API
 * hosts. For a custom environment: the origin of its `apiBaseUrl`. Without an environment: an API host
 * of any Zoho data center. A URL with credentials never passes.
 *
 * @example
 * ```ts
 * isApiUrlOf('https://sandbox.zohoapis.eu/crm/v8/org', environmentFor('EU')); // true
 * isApiUrlOf('https://www.zohoapis.com', environmentFor('EU')); // false: another data center
 * isApiUrlOf('http://www.zohoapis.com'); // false: plain http
 * ```
 */
export function isApiUrlOf(url: string | URL, environment?: Environment | null): boolean {
  const parsed = url instanceof URL ? url : URL.canParse(url) ? new URL(url) : null;
  if (!parsed || parsed.username || parsed.password) return false;
  if (environment?.kind === 'custom') {
    return (
      URL.canParse(environment.apiBaseUrl) &&
      parsed.origin === new URL(environment.apiBaseUrl).origin &&
      isSecureFor(parsed, environment)
    );
  }
  if (parsed.protocol !== 'https:' || parsed.port !== '') return false;
  const dataCenter = API_HOSTS.get(parsed.hostname);
  return dataCenter !== undefined && (environment == null || dataCenter === environment.dataCenter);
}

/**
 * Whether the client secret and tokens of `environment` may be sent to `url`, an address on its
 * accounts server. For a Zoho data center: its own accounts server, with `accountsUrl` exactly as
 * {@link environmentFor} makes it. For a custom environment: the origin of its `accountsUrl`, over
 * `https:` (plain http on loopback, or with `allowInsecureHttp`). A URL with credentials never passes.
 */
export function isAccountsUrlOf(url: string, environment: Environment): boolean {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || parsed.username || parsed.password) return false;
  const code = environment.dataCenter;
  if (code === null) {
    const own = URL.canParse(environment.accountsUrl) ? new URL(environment.accountsUrl) : null;
    return (
      own !== null && !own.username && !own.password && parsed.origin === own.origin && isSecureFor(parsed, environment)
    );
  }
  const accountsUrl = Object.hasOwn(DATA_CENTERS, code) ? DATA_CENTERS[code].accountsUrl : null;
  return (
    accountsUrl !== null && environment.accountsUrl === accountsUrl && parsed.origin === new URL(accountsUrl).origin
  );
}

/** `https:`, or plain http on loopback (anywhere when the environment allows insecure http). */
function isSecureFor(url: URL, environment: Environment): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (isLoopback(url.hostname) || environment.allowInsecureHttp === true);
}

/** The data center whose accounts server is exactly this origin (an optional trailing slash aside). */
function accountsServerDataCenter(server: string): DataCenterCode | null {
  const url = URL.canParse(server) ? new URL(server) : null;
  if (!url || url.username || url.password || url.search || url.hash || url.pathname !== '/') return null;
  return CODES.find((code) => new URL(DATA_CENTERS[code].accountsUrl).origin === url.origin) ?? null;
}

function baseUrl(value: string, label: string, allowInsecureHttp: boolean): string {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`${label} is not an absolute URL`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${label} must be an http(s) URL`);
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopback(url.hostname)) {
    throw new TypeError(`${label} must use https: plain http is allowed on loopback only, unless allowInsecureHttp`);
  }
  // Credentials would leak into logs with the URL; a query would be mangled when paths are appended.
  if (url.username || url.password) throw new TypeError(`${label} must not contain credentials`);
  if (url.search || url.hash) throw new TypeError(`${label} must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}
