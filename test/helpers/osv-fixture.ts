import type { OsvRecord } from '../../src/scan/osv-record.js';

export const CRITICAL_VECTOR = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
export const HIGH_VECTOR = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H';

/** One OSV record for one package: `fixed` absent means unfixed; `severity` a CVSS vector or a database word. */
export function osvRecord(options: {
  id: string;
  ecosystem: string;
  name: string;
  fixed?: string;
  introduced?: string;
  lastAffected?: string;
  versions?: string[];
  vector?: string;
  word?: string;
  aliases?: string[];
}): OsvRecord {
  const events = [
    { introduced: options.introduced ?? '0' },
    ...(options.fixed !== undefined ? [{ fixed: options.fixed }] : []),
    ...(options.lastAffected !== undefined ? [{ last_affected: options.lastAffected }] : []),
  ];
  return {
    id: options.id,
    aliases: options.aliases ?? [],
    ...(options.vector ? { severity: [{ type: 'CVSS_V3', score: options.vector }] } : {}),
    affected: [
      {
        package: { ecosystem: options.ecosystem, name: options.name },
        ranges: [{ type: 'ECOSYSTEM', events }],
        ...(options.versions ? { versions: options.versions } : {}),
        ...(options.word ? { database_specific: { severity: options.word } } : {}),
      },
    ],
  };
}
