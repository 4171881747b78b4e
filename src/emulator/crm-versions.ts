/**
 * What differs between the CRM API versions the emulator serves, in one place. Sources: Zoho's Get
 * Records pages per version (`fields` is optional in v2 and v2.1, "mandatory when fetching all
 * records" from v3 on, which also brought `page_token`) and the `info` models of the official SDKs
 * (v2 and v2.1 SDKs read `per_page`, `count`, `page`, `more_records`; the v6 to v8 SDKs also
 * `sort_by`, `sort_order`, `next_page_token`, `previous_page_token`, `page_token_expiry`). The
 * users, org, modules and fields answers keep one shape across these versions.
 */
export interface CrmVersion {
  /** The path segment: `v2`, `v2.1`, … `v8`. */
  readonly name: string;
  /** GET records without `fields` is refused (`REQUIRED_PARAM_MISSING`) rather than answered with every field. */
  readonly fieldsRequired: boolean;
  /** A records page's `info` carries the sort and page-token keys. */
  readonly pageTokenInfo: boolean;
}

const legacy = (name: string): CrmVersion => ({ name, fieldsRequired: false, pageTokenInfo: false });
const current = (name: string): CrmVersion => ({ name, fieldsRequired: true, pageTokenInfo: true });

/** Every version the official Node and TypeScript SDKs call; any other answers 404 `INVALID_URL_PATTERN`. */
export const CRM_VERSIONS: Readonly<Record<string, CrmVersion>> = Object.freeze(
  Object.fromEntries(
    [legacy('v2'), legacy('v2.1'), ...['v3', 'v4', 'v5', 'v6', 'v7', 'v8'].map(current)].map((v) => [v.name, v]),
  ),
);

/** Splits `/crm/{version}/{rest}` into a served version and the rest (`/users`, `/Leads`, …); null otherwise. */
export function crmPathOf(path: string): { version: CrmVersion; rest: string } | null {
  const match = /^\/crm\/(v[0-9.]+)(\/.*)$/.exec(path);
  const version = match ? CRM_VERSIONS[match[1] as string] : undefined;
  return version ? { version, rest: (match as RegExpExecArray)[2] as string } : null;
}
