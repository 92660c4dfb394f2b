import { lineSafe } from '../util/line-safe.js';

/** The parts of an OSV record (ossf/osv-schema) that matching reads. */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  events: OsvEvent[];
}

export interface OsvAffected {
  package?: { ecosystem?: string; name?: string; purl?: string };
  ranges?: OsvRange[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvRecord {
  id: string;
  aliases?: string[];
  severity?: Array<{ type: string; score: string }>;
  affected?: OsvAffected[];
  database_specific?: Record<string, unknown>;
  references?: Array<{ type?: string; url?: string }>;
  withdrawn?: string;
}

/** Debian Security Tracker dump: source package → CVE → release codename → status. */
export interface TrackerRelease {
  status?: string;
  fixed_version?: string;
  urgency?: string;
}
export type TrackerDump = Record<string, Record<string, { releases?: Record<string, TrackerRelease> }>>;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A tracker dump is keyed by package, then by issue, each with `releases`; an OSV record has an `id`. */
export function isTrackerDump(value: unknown): value is TrackerDump {
  if (!isObject(value) || 'id' in value) return false;
  const first = Object.values(value)[0];
  if (first === undefined) return false;
  if (!isObject(first)) return false;
  const issue = Object.values(first)[0];
  return issue === undefined || (isObject(issue) && (issue.releases === undefined || isObject(issue.releases)));
}

type Fault = string | undefined;

const stringOrAbsent = (value: unknown, at: string): Fault =>
  value === undefined || typeof value === 'string' ? undefined : `${at} is not a string`;

const objectOrAbsent = (value: unknown, at: string): Fault =>
  value === undefined || isObject(value) ? undefined : `${at} is not an object`;

/** The first fault of a list's items, or of the list itself; absent is fine. */
function listFault(value: unknown, at: string, item: (value: unknown, at: string) => Fault): Fault {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return `${at} is not a list`;
  for (let index = 0; index < value.length; index++) {
    const fault = item(value[index], `${at}[${index}]`);
    if (fault) return fault;
  }
  return undefined;
}

function fieldsFault(value: unknown, at: string, fields: Record<string, (value: unknown, at: string) => Fault>): Fault {
  if (!isObject(value)) return `${at} is not an object`;
  for (const [key, check] of Object.entries(fields)) {
    const fault = check(value[key], `${at}.${key}`);
    if (fault) return fault;
  }
  return undefined;
}

const required =
  (check: (value: unknown, at: string) => Fault) =>
  (value: unknown, at: string): Fault =>
    value === undefined ? `${at} is missing` : check(value, at);

const eventFault = (value: unknown, at: string): Fault =>
  fieldsFault(value, at, {
    introduced: stringOrAbsent,
    fixed: stringOrAbsent,
    last_affected: stringOrAbsent,
    limit: stringOrAbsent,
  });

const rangeFault = (value: unknown, at: string): Fault =>
  fieldsFault(value, at, {
    type: required(stringOrAbsent),
    events: required((events, where) => listFault(events, where, eventFault)),
  });

const affectedFault = (value: unknown, at: string): Fault =>
  fieldsFault(value, at, {
    package: (pkg, where) =>
      pkg === undefined
        ? undefined
        : fieldsFault(pkg, where, { ecosystem: stringOrAbsent, name: stringOrAbsent, purl: stringOrAbsent }),
    ranges: (ranges, where) => listFault(ranges, where, rangeFault),
    versions: (versions, where) => listFault(versions, where, stringOrAbsent),
    ecosystem_specific: objectOrAbsent,
    database_specific: objectOrAbsent,
  });

/**
 * What is wrong with a record whose fields matching reads (so a dump someone else made is refused
 * with one line naming the field, never met as a crash half-way through a scan); undefined when fine.
 */
export function osvRecordFault(record: Record<string, unknown>): Fault {
  return fieldsFault(record, 'record', {
    id: required(stringOrAbsent),
    aliases: (aliases, at) => listFault(aliases, at, required(stringOrAbsent)),
    withdrawn: stringOrAbsent,
    severity: (severity, at) =>
      listFault(severity, at, (entry, where) =>
        fieldsFault(entry, where, { type: required(stringOrAbsent), score: required(stringOrAbsent) }),
      ),
    affected: (affected, at) => listFault(affected, at, affectedFault),
    database_specific: objectOrAbsent,
    references: (references, at) =>
      listFault(references, at, (entry, where) =>
        fieldsFault(entry, where, { type: stringOrAbsent, url: stringOrAbsent }),
      ),
  });
}

/** What is wrong with one source package's issues in a tracker dump; undefined when fine. */
export function trackerIssuesFault(issues: unknown, at: string): Fault {
  if (!isObject(issues)) return `${at} is not an object`;
  for (const [issue, details] of Object.entries(issues)) {
    const fault = fieldsFault(details, `${at}.${lineSafe(issue)}`, {
      releases: (releases, where) => {
        if (releases === undefined) return undefined;
        if (!isObject(releases)) return `${where} is not an object`;
        for (const [codename, release] of Object.entries(releases)) {
          const releaseFault = fieldsFault(release, `${where}.${lineSafe(codename)}`, {
            status: stringOrAbsent,
            fixed_version: stringOrAbsent,
            urgency: stringOrAbsent,
          });
          if (releaseFault) return releaseFault;
        }
        return undefined;
      },
    });
    if (fault) return fault;
  }
  return undefined;
}
