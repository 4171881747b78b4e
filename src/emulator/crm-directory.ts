import type { EmulatorClock } from './clock.js';
import type { EmulatorUser } from './options.js';

/** A CRM org: every user whose email has its domain. */
export interface CrmOrg {
  id: string;
  zgid: string;
  companyName: string;
  domainName: string;
  primaryEmail: string;
  /** Prefix of the org's 19-digit record ids, as Zoho's ids share one per org. */
  idPrefix: string;
  nextSeq: number;
  leads: Lead[];
}

/** A CRM user. */
export interface CrmUser extends EmulatorUser {
  id: string;
  zuid: string;
  org: CrmOrg;
  isAdmin: boolean;
}

/** A lead as stored: field API names to values. */
export type Lead = { id: string } & Record<string, unknown>;

const SEED_LEADS = [
  ['Hannah', 'Schmidt', 'Nordwind Logistics'],
  ['Tobi', 'Okafor', 'Lagos Fintech Labs'],
  ['Yuki', 'Nakamura', 'Sakura Robotics'],
  ['Marta', 'Silva', 'Atlântico Foods'],
  ['Omar', 'Haddad', 'Cedar Analytics'],
  ['Piotr', 'Kowalski', 'Wisła Software'],
  ['Claire', 'Moreau', 'Lumière Studio'],
  ['Erik', 'Lindqvist', 'Fjord Energy'],
  ['Mina', 'Park', 'Hangang Health'],
] as const;
const STATUSES = ['Not Contacted', 'Attempted to Contact', 'Contacted'] as const;
const SOURCES = ['Web Download', 'Trade Show', 'Cold Call'] as const;
const LEADS_PER_USER = 3;

/** Zoho's time format: seconds precision with an offset, `2024-05-01T09:30:00+00:00`. */
export function zohoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** What a restart must keep of an org, keyed by its users' email domain: its leads and next record id. */
export type CrmSnapshot = Record<string, { nextSeq: number; leads: Lead[] }>;

/** Users, their orgs and the orgs' leads. */
export class CrmDirectory {
  private readonly users = new Map<string, CrmUser>();
  /** Orgs by their users' email domain. */
  private readonly orgs = new Map<string, CrmOrg>();

  constructor(
    users: readonly EmulatorUser[],
    private readonly clock: EmulatorClock,
  ) {
    for (const [index, user] of users.entries()) {
      const domain = user.email.slice(user.email.lastIndexOf('@') + 1).toLowerCase();
      let org = this.orgs.get(domain);
      if (!org) {
        const n = this.orgs.size + 1;
        const zgid = String(700_000_000 + n * 1_234);
        org = {
          id: `${4_150_868 + n * 1_000}000000019001`,
          zgid,
          companyName: capitalise(domain.split('.')[0] ?? domain),
          domainName: `org${zgid}`,
          primaryEmail: user.email,
          idPrefix: String(4_150_868 + n * 1_000),
          nextSeq: 1,
          leads: [],
        };
        this.orgs.set(domain, org);
      }
      const isAdmin = org.primaryEmail === user.email;
      const crmUser: CrmUser = { ...user, id: this.nextId(org), zuid: String(800_000_000 + index), org, isAdmin };
      this.users.set(user.email.toLowerCase(), crmUser);
    }
    this.seedLeads();
  }

  user(email: string): CrmUser | undefined {
    return this.users.get(email.toLowerCase());
  }

  /** The email of the admin of the org with this id (its first user), or undefined for no such org. */
  adminOfOrg(orgId: string): string | undefined {
    return [...this.orgs.values()].find((org) => org.id === orgId)?.primaryEmail;
  }

  /** Every user, in seeding order. */
  allUsers(): CrmUser[] {
    return [...this.users.values()];
  }

  /** The users of an org, in seeding order. */
  usersOf(org: CrmOrg): CrmUser[] {
    return [...this.users.values()].filter((user) => user.org === org);
  }

  /** Stores a lead owned by `owner`, stamping id, owner and times. */
  addLead(owner: CrmUser, values: Record<string, unknown>): Lead {
    const now = zohoTime(this.clock.now());
    const who = { name: fullName(owner), id: owner.id, email: owner.email };
    const lead: Lead = {
      ...values,
      id: this.nextId(owner.org),
      Owner: who,
      Created_By: who,
      Modified_By: who,
      Created_Time: now,
      Modified_Time: now,
    };
    owner.org.leads.push(lead);
    return lead;
  }

  /** The orgs' leads, as plain data. */
  snapshot(): CrmSnapshot {
    return Object.fromEntries(
      [...this.orgs].map(([domain, org]) => [
        domain,
        { nextSeq: org.nextSeq, leads: org.leads.map((l) => ({ ...l })) },
      ]),
    );
  }

  /** Puts back the leads of a {@link snapshot}; orgs the configured users no longer have are left out. */
  restore(snapshot: CrmSnapshot): void {
    for (const [domain, saved] of Object.entries(snapshot)) {
      const org = this.orgs.get(domain);
      if (!org) continue;
      // Never below the seeded users' ids, whatever the file says: record ids stay unique.
      org.nextSeq = Math.max(org.nextSeq, saved.nextSeq);
      org.leads = saved.leads.map((lead) => ({ ...lead }));
    }
  }

  private seedLeads(): void {
    let n = 0;
    for (const owner of this.users.values()) {
      for (let i = 0; i < LEADS_PER_USER; i++, n++) {
        const [first, last, company] = SEED_LEADS[n % SEED_LEADS.length] as (typeof SEED_LEADS)[number];
        this.addLead(owner, {
          First_Name: first,
          Last_Name: last,
          Email: `${first}.${last}@example.com`.toLowerCase(),
          Company: company,
          Phone: `+1 555 01${String(n).padStart(2, '0')}`,
          Lead_Status: STATUSES[n % STATUSES.length],
          Lead_Source: SOURCES[n % SOURCES.length],
        });
      }
    }
  }

  private nextId(org: CrmOrg): string {
    return `${org.idPrefix}000000${String(org.nextSeq++).padStart(6, '0')}`;
  }
}

export const fullName = (user: EmulatorUser): string => `${user.firstName} ${user.lastName}`;
