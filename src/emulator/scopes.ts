/** Operations a broader scope grants, beyond its own: `ALL` grants everything, `WRITE` the changes. */
const IMPLIED: Readonly<Record<string, readonly string[]>> = {
  ALL: ['READ', 'CREATE', 'UPDATE', 'DELETE', 'WRITE'],
  '*': ['READ', 'CREATE', 'UPDATE', 'DELETE', 'WRITE'],
  WRITE: ['CREATE', 'UPDATE', 'DELETE'],
};

/** Splits Zoho's comma-separated scope parameter. */
export function parseScopes(scope: string): string[] {
  return scope
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * True when a granted scope covers the required one, Zoho style: `ZohoCRM.modules.ALL` covers
 * `ZohoCRM.modules.leads.READ`, `ZohoCRM.settings.READ` covers `ZohoCRM.settings.fields.READ`.
 */
export function scopeCovers(granted: string, required: string): boolean {
  const have = granted.toUpperCase().split('.');
  const want = required.toUpperCase().split('.');
  const haveOperation = have.pop() ?? '';
  const wantOperation = want.pop() ?? '';
  if (have.length === 0 || have.length > want.length) return false;
  if (!have.every((part, i) => part === want[i])) return false;
  return haveOperation === wantOperation || (IMPLIED[haveOperation] ?? []).includes(wantOperation);
}

/** True when any granted scope covers `required`. */
export function scopesCover(granted: readonly string[], required: string): boolean {
  return granted.some((scope) => scopeCovers(scope, required));
}
