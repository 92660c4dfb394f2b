import { cvss3BaseScore, severityOfScore } from './cvss.js';
import type { OsvAffected, OsvRecord } from './osv-record.js';
import { SEVERITIES, type Severity } from './types.js';

/**
 * The words databases use for severity: GHSA's MODERATE, Red Hat and Rocky's Important,
 * Debian's urgencies (unimportant … high), Ubuntu's priorities (negligible … critical).
 */
const WORDS: Record<string, Severity> = {
  critical: 'CRITICAL',
  important: 'HIGH',
  high: 'HIGH',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  low: 'LOW',
  unimportant: 'LOW',
  negligible: 'LOW',
};

/** A severity word as a level; UNKNOWN for what no database rates (`not yet assigned`, `end-of-life`). */
export function severityOfWord(word: unknown): Severity {
  if (typeof word !== 'string') return 'UNKNOWN';
  // The tracker marks urgencies it guessed with `*` (`low*`) and may add a note in brackets.
  return (
    WORDS[
      word
        .trim()
        .toLowerCase()
        .replace(/\*$/, '')
        .replace(/\s*\(.*\)$/, '')
    ] ?? 'UNKNOWN'
  );
}

export function worstSeverity(severities: readonly Severity[]): Severity {
  const rank = (severity: Severity) => SEVERITIES.indexOf(severity);
  return severities.reduce<Severity>((worst, next) => (rank(next) > rank(worst) ? next : worst), 'UNKNOWN');
}

/**
 * A record's severity for one affected package: the CVSS v3 base score when the record has a vector;
 * else the database's own rating (database_specific.severity, the ecosystem's urgency or priority).
 */
export function severityOf(record: OsvRecord, affected: OsvAffected): Severity {
  const scores = (record.severity ?? [])
    .filter((entry) => entry.type === 'CVSS_V3')
    .map((entry) => cvss3BaseScore(entry.score))
    .filter((score): score is number => score !== undefined);
  if (scores.length > 0) return severityOfScore(Math.max(...scores));
  const words = [
    affected.database_specific?.severity,
    record.database_specific?.severity,
    affected.ecosystem_specific?.severity,
    affected.ecosystem_specific?.urgency,
    ...(record.severity ?? []).filter((entry) => !entry.type.startsWith('CVSS_')).map((entry) => entry.score),
  ];
  return worstSeverity(words.map(severityOfWord));
}
