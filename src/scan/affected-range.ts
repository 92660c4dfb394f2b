import type { OsvAffected, OsvEvent } from './osv-record.js';
import type { VersionCompare } from './version-order.js';

export type AffectedVerdict = { affected: false } | { affected: true; fixed: string };

/** `introduced: "0"` sorts before every version; other events by the ecosystem's order. */
function eventVersion(event: OsvEvent): string | undefined {
  return event.introduced ?? event.fixed ?? event.last_affected ?? event.limit;
}

/**
 * OSV's evaluation of ECOSYSTEM (and SEMVER) ranges: walking the events in version order, an
 * `introduced` at or below the version opens, a `fixed` at or below it closes, a `last_affected`
 * below it closes. The fixed version reported is the first `fixed` above the installed version.
 */
export function evaluateAffected(version: string, affected: OsvAffected, compare: VersionCompare): AffectedVerdict {
  const listed = (affected.versions ?? []).includes(version);
  let fixedAbove: string | undefined;
  let inRange = false;
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
    const events = range.events
      .filter((event) => eventVersion(event) !== undefined && event.limit === undefined)
      .sort((a, b) => {
        if (a.introduced === '0') return b.introduced === '0' ? 0 : -1;
        if (b.introduced === '0') return 1;
        return compare(eventVersion(a) ?? '', eventVersion(b) ?? '');
      });
    let open = false;
    let fixedOfRange: string | undefined;
    for (const event of events) {
      if (event.introduced !== undefined) {
        if (event.introduced === '0' || compare(version, event.introduced) >= 0) open = true;
      } else if (event.fixed !== undefined) {
        if (compare(version, event.fixed) >= 0) open = false;
        else if (open && fixedOfRange === undefined) fixedOfRange = event.fixed;
      } else if (event.last_affected !== undefined) {
        if (compare(version, event.last_affected) > 0) open = false;
      }
    }
    if (open) {
      inRange = true;
      const lower = fixedAbove === undefined || (fixedOfRange !== undefined && compare(fixedOfRange, fixedAbove) < 0);
      if (fixedOfRange !== undefined && lower) fixedAbove = fixedOfRange;
    }
  }
  return listed || inRange ? { affected: true, fixed: fixedAbove ?? '' } : { affected: false };
}
