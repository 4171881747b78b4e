import type { EmulatorContext } from './context.js';
import { type CrmUser, fullName, type Lead } from './crm-directory.js';
import { fieldsResponse, LEAD_FIELDS, LEADS_MODULE } from './crm-metadata.js';
import { type CrmVersion, crmPathOf } from './crm-versions.js';
import { json, noContent, type ParsedRequest, type Reply } from './http-io.js';
import { scopesCover } from './scopes.js';

const MAX_PER_PAGE = 200;
const MAX_INSERT = 100;

/** Zoho's CRM error body. */
const crmError = (code: string, message: string, details: Record<string, unknown> = {}) => ({
  code,
  details,
  message,
  status: 'error',
});

/** The exact body Zoho sends for an unknown, expired or revoked access token. */
export const INVALID_TOKEN_BODY = Object.freeze(crmError('INVALID_TOKEN', 'invalid oauth token'));

const missingParam = (param: string) =>
  crmError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param });

type Handler = (ctx: EmulatorContext, req: ParsedRequest, user: CrmUser, version: CrmVersion) => Reply;
interface Route {
  /** The scope a token needs, per method. */
  methods: Partial<Record<string, { scope: string; handle: Handler }>>;
}

function userJson(user: CrmUser) {
  const prefix = user.org.idPrefix;
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    full_name: fullName(user),
    role: user.isAdmin
      ? { name: 'CEO', id: `${prefix}000000026005` }
      : { name: 'Manager', id: `${prefix}000000026008` },
    profile: user.isAdmin
      ? { name: 'Administrator', id: `${prefix}000000026011` }
      : { name: 'Standard', id: `${prefix}000000026014` },
    status: 'active',
    confirm: true,
    zuid: user.zuid,
    time_zone: 'Etc/UTC',
    locale: 'en_US',
  };
}

const getUsers: Handler = (ctx, req, user) => {
  const users = req.params.get('type') === 'CurrentUser' ? [user] : ctx.directory.usersOf(user.org);
  return json(200, {
    users: users.map(userJson),
    info: { per_page: MAX_PER_PAGE, count: users.length, page: 1, more_records: false },
  });
};

const getOrg: Handler = (_ctx, _req, { org }) =>
  json(200, {
    org: [
      {
        id: org.id,
        company_name: org.companyName,
        alias: null,
        primary_email: org.primaryEmail,
        zgid: org.zgid,
        domain_name: org.domainName,
        time_zone: 'Etc/UTC',
        iso_code: 'USD',
        currency_symbol: '$',
        country_code: 'US',
        type: 'production',
        mc_status: false,
      },
    ],
  });

const getModules: Handler = () => json(200, { modules: [LEADS_MODULE] });

const getFields: Handler = (_ctx, req) => {
  const module = req.params.get('module');
  if (!module) return json(400, missingParam('module'));
  if (module.toLowerCase() !== 'leads') {
    return json(400, crmError('INVALID_MODULE', 'the module name given seems to be invalid', { param_name: 'module' }));
  }
  return json(200, fieldsResponse());
};

/** A positive integer query parameter, its default when absent, or null when malformed or above `max`. */
function intParam(req: ParsedRequest, name: string, fallback: number, max: number): number | null {
  const raw = req.params.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= 1 && value <= max ? value : null;
}

const getLeads: Handler = (_ctx, req, user, version) => {
  const fields = req.params.get('fields');
  if (!fields && version.fieldsRequired) return json(400, missingParam('fields'));
  const perPage = intParam(req, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE);
  const page = intParam(req, 'page', 1, Number.MAX_SAFE_INTEGER);
  if (perPage === null || page === null) {
    const param = perPage === null ? 'per_page' : 'page';
    return json(400, crmError('INVALID_DATA', 'invalid data', { param }));
  }
  const known = LEAD_FIELDS.map((f) => f.api_name);
  // Without `fields` (v2 and v2.1 only) every field comes back.
  const wanted = fields ? [...new Set(fields.split(',').map((f) => f.trim()))].filter((f) => known.includes(f)) : known;
  // Newest first: Zoho sorts by id, descending, unless told otherwise.
  const all = [...user.org.leads].reverse();
  const slice = all.slice((page - 1) * perPage, page * perPage);
  // Zoho answers 204 with no body when a page holds no records.
  if (slice.length === 0) return noContent();
  return json(200, {
    data: slice.map((lead) => Object.fromEntries([['id', lead.id], ...wanted.map((f) => [f, lead[f] ?? null])])),
    info: recordsInfo(version, { perPage, count: slice.length, page, more: all.length > page * perPage }),
  });
};

/** A records page's `info`, in the keys of its API version. */
function recordsInfo(version: CrmVersion, page: { perPage: number; count: number; page: number; more: boolean }) {
  if (!version.pageTokenInfo) {
    return { per_page: page.perPage, count: page.count, page: page.page, more_records: page.more };
  }
  return {
    per_page: page.perPage,
    count: page.count,
    page: page.page,
    sort_by: 'id',
    sort_order: 'desc',
    more_records: page.more,
    next_page_token: null,
    previous_page_token: null,
    page_token_expiry: null,
  };
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Zoho's per-record error for a record of an insert, or null when it can be stored. */
function recordError(record: unknown, index: number): Record<string, unknown> | null {
  const path = `$.data[${index}]`;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return crmError('INVALID_DATA', 'invalid data', { json_path: path });
  }
  const values = record as Record<string, unknown>;
  for (const field of LEAD_FIELDS) {
    const value = values[field.api_name];
    if (!field.writable || value === undefined || value === null) continue;
    if (typeof value !== 'string' || (field.data_type === 'email' && !EMAIL.test(value))) {
      return crmError('INVALID_DATA', 'invalid data', {
        expected_data_type: field.data_type,
        api_name: field.api_name,
        json_path: `${path}.${field.api_name}`,
      });
    }
  }
  const lastName = values.Last_Name;
  if (typeof lastName !== 'string' || lastName.trim() === '') {
    return crmError('MANDATORY_NOT_FOUND', 'required field not found', {
      api_name: 'Last_Name',
      json_path: `${path}.Last_Name`,
    });
  }
  return null;
}

const insertLeads: Handler = (ctx, req, user) => {
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch {
    return json(400, crmError('INVALID_DATA', 'the input json is invalid'));
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0) return json(400, missingParam('data'));
  if (data.length > MAX_INSERT) {
    return json(400, crmError('LIMIT_EXCEEDED', 'Limit exceeded', { limit: MAX_INSERT }));
  }
  const writable = LEAD_FIELDS.filter((f) => f.writable).map((f) => f.api_name);
  const results = data.map((record: unknown, index) => {
    const error = recordError(record, index);
    if (error) return error;
    const values = record as Record<string, unknown>;
    const lead: Lead = ctx.directory.addLead(
      user,
      Object.fromEntries(writable.filter((f) => values[f] != null).map((f) => [f, values[f]])),
    );
    const by = { name: fullName(user), id: user.id };
    return {
      code: 'SUCCESS',
      details: {
        Modified_Time: lead.Modified_Time,
        Modified_By: by,
        Created_Time: lead.Created_Time,
        id: lead.id,
        Created_By: by,
      },
      message: 'record added',
      status: 'success',
    };
  });
  const added = results.filter((r) => r.status === 'success').length;
  // 201 when every record was added, 207 for a mix, 400 when none was.
  return json(added === results.length ? 201 : added > 0 ? 207 : 400, { data: results });
};

/** Routes by the path after `/crm/{version}`; a module name is matched case-insensitively. */
const ROUTES: Readonly<Record<string, Route>> = {
  '/users': { methods: { GET: { scope: 'ZohoCRM.users.READ', handle: getUsers } } },
  '/org': { methods: { GET: { scope: 'ZohoCRM.org.READ', handle: getOrg } } },
  '/settings/modules': { methods: { GET: { scope: 'ZohoCRM.settings.modules.READ', handle: getModules } } },
  '/settings/fields': { methods: { GET: { scope: 'ZohoCRM.settings.fields.READ', handle: getFields } } },
  '/leads': {
    methods: {
      GET: { scope: 'ZohoCRM.modules.leads.READ', handle: getLeads },
      POST: { scope: 'ZohoCRM.modules.leads.CREATE', handle: insertLeads },
    },
  },
};

/** Module names are case-insensitive in Zoho's API paths; other paths are not. */
const routeKey = (rest: string) => (/^\/leads$/i.test(rest) ? '/leads' : rest);

/**
 * Any `/crm/{version}/…` request of a version in `CRM_VERSIONS`: the token is checked first, then its
 * scope, then the call is served in that version's shape.
 */
export function handleCrm(ctx: EmulatorContext, req: ParsedRequest): Reply {
  const path = crmPathOf(req.url.pathname);
  const route = path ? ROUTES[routeKey(path.rest)] : undefined;
  const isOtherModule = path !== null && !route && /^\/[A-Za-z][A-Za-z0-9_]*$/.test(path.rest);
  if (!path || (!route && !isOtherModule)) {
    return json(404, crmError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one'));
  }
  const match = /^Zoho-oauthtoken\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
  if (!match) return json(401, crmError('AUTHENTICATION_FAILURE', 'Authentication failed'));
  const token = ctx.accounts.accessToken(match[1] as string);
  const user = token && ctx.directory.user(token.userEmail);
  if (!token || !user) return json(401, INVALID_TOKEN_BODY);
  if (!route) {
    return json(
      400,
      crmError('INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 }),
    );
  }
  const method = route.methods[req.method];
  if (!method) {
    return json(405, crmError('INVALID_REQUEST_METHOD', 'The http request method type is not a valid one'));
  }
  if (!scopesCover(token.scopes, method.scope)) {
    return json(401, crmError('OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL'));
  }
  return method.handle(ctx, req, user, path.version);
}
