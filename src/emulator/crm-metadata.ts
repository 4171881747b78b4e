/** A field of the Leads module, as `/crm/v8/settings/fields` describes it. */
export interface FieldMeta {
  api_name: string;
  field_label: string;
  data_type: string;
  json_type: string;
  system_mandatory: boolean;
  read_only: boolean;
  custom_field: boolean;
  /** Whether an insert may set it. */
  writable: boolean;
}

const field = (
  apiName: string,
  label: string,
  dataType: string,
  extra: { jsonType?: string; mandatory?: boolean; writable?: boolean } = {},
): FieldMeta => ({
  api_name: apiName,
  field_label: label,
  data_type: dataType,
  json_type: extra.jsonType ?? 'string',
  system_mandatory: extra.mandatory ?? false,
  read_only: extra.writable === false,
  custom_field: false,
  writable: extra.writable ?? true,
});

/** The one module the emulator serves. */
export const LEADS_MODULE = Object.freeze({
  api_name: 'Leads',
  module_name: 'Leads',
  plural_label: 'Leads',
  singular_label: 'Lead',
  api_supported: true,
  generated_type: 'default',
  id: '4150868000000002175',
});

/** The Leads fields, in Zoho's API names and types. */
export const LEAD_FIELDS: readonly FieldMeta[] = Object.freeze([
  field('Owner', 'Lead Owner', 'ownerlookup', { jsonType: 'jsonobject', writable: false }),
  field('First_Name', 'First Name', 'text'),
  field('Last_Name', 'Last Name', 'text', { mandatory: true }),
  field('Email', 'Email', 'email'),
  field('Company', 'Company', 'text'),
  field('Phone', 'Phone', 'phone'),
  field('Lead_Status', 'Lead Status', 'picklist'),
  field('Lead_Source', 'Lead Source', 'picklist'),
  field('Created_By', 'Created By', 'ownerlookup', { jsonType: 'jsonobject', writable: false }),
  field('Modified_By', 'Modified By', 'ownerlookup', { jsonType: 'jsonobject', writable: false }),
  field('Created_Time', 'Created Time', 'datetime', { writable: false }),
  field('Modified_Time', 'Modified Time', 'datetime', { writable: false }),
]);

/** Field ids are stable per position, shaped like Zoho's. */
export function fieldsResponse(): { fields: Record<string, unknown>[] } {
  return {
    fields: LEAD_FIELDS.map(({ writable: _, ...meta }, i) => ({
      ...meta,
      id: `41508680000000${String(2_589 + i * 2).padStart(5, '0')}`,
    })),
  };
}
