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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function isOsvRecord(value: unknown): value is OsvRecord {
  if (!isObject(value) || typeof value.id !== 'string') return false;
  return value.affected === undefined || Array.isArray(value.affected);
}

/** A tracker dump is keyed by package, then by issue, each with `releases`; an OSV record has an `id`. */
export function isTrackerDump(value: unknown): value is TrackerDump {
  if (!isObject(value) || 'id' in value) return false;
  const first = Object.values(value)[0];
  if (first === undefined) return false;
  if (!isObject(first)) return false;
  const issue = Object.values(first)[0];
  return issue === undefined || (isObject(issue) && (issue.releases === undefined || isObject(issue.releases)));
}
