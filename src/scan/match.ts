import { evaluateAffected } from './affected-range.js';
import { compareDpkgVersions } from './dpkg-version.js';
import type { OsvRecord } from './osv-record.js';
import { severityOf, severityOfWord } from './severity.js';
import type { Finding, InstalledPackage, Inventory, OsRelease, PackageType } from './types.js';
import { versionOrder } from './version-order.js';
import { ecosystemBase, type VulnerabilityDatabase } from './vulnerability-db.js';

interface EcosystemChoice {
  base: string;
  /** Release suffixes (after `Base:`) that apply to this image; a record with no suffix applies to all. */
  releases: string[];
}

const OS_ECOSYSTEMS: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  rocky: 'Rocky Linux',
  almalinux: 'AlmaLinux',
};

/** Which OSV ecosystem (and releases of it) an installed package is judged in. */
export function ecosystemFor(type: PackageType, os: OsRelease | undefined): EcosystemChoice | undefined {
  switch (type) {
    case 'pypi':
      return { base: 'PyPI', releases: [] };
    case 'deb':
    case 'rpm': {
      const base = OS_ECOSYSTEMS[os?.id ?? ''];
      if (!base || !os) return undefined;
      const major = os.versionId.split('.')[0] ?? '';
      const releases = [os.versionId, major, os.codename, `${os.versionId}:LTS`].filter((release) => release !== '');
      return { base, releases };
    }
    default: {
      const never: never = type;
      return never;
    }
  }
}

function ecosystemApplies(ecosystem: string, choice: EcosystemChoice): boolean {
  if (ecosystemBase(ecosystem) !== choice.base) return false;
  const release = ecosystem.slice(choice.base.length + 1);
  return release === '' || choice.releases.includes(release);
}

function advisoryUrl(record: OsvRecord): string {
  const advisory = record.references?.find((reference) => reference.type === 'ADVISORY' && reference.url)?.url;
  return advisory ?? `https://osv.dev/vulnerability/${encodeURIComponent(record.id)}`;
}

/**
 * Advisories name what they fix: OS ecosystems mostly the source package (Debian, Ubuntu), some the
 * binary one (Rocky); Python the distribution. Each name is judged with its own version.
 */
function namesOf(pkg: InstalledPackage): Array<{ name: string; version: string }> {
  const own = { name: pkg.name, version: pkg.version };
  if (pkg.type === 'pypi' || (pkg.sourceName === pkg.name && pkg.sourceVersion === pkg.version)) return [own];
  const source = { name: pkg.sourceName, version: pkg.sourceVersion };
  return pkg.type === 'deb' ? [source, own] : [own, source];
}

/** Every advisory in the database that affects a package of the inventory, one finding per package and advisory. */
export function matchInventory(inventory: Inventory, database: VulnerabilityDatabase): Finding[] {
  const findings: Finding[] = [];
  for (const pkg of inventory.packages) {
    const choice = ecosystemFor(pkg.type, inventory.os);
    if (!choice) continue;
    const compare = versionOrder(pkg.type);
    const seen = new Set<string>();
    const covered = new Set<string>();
    for (const { name, version } of namesOf(pkg)) {
      for (const entry of database.affecting(choice.base, name)) {
        if (seen.has(entry.record.id) || !ecosystemApplies(entry.ecosystem, choice)) continue;
        const verdict = evaluateAffected(version, entry.affected, compare);
        if (!verdict.affected) continue;
        seen.add(entry.record.id);
        for (const alias of entry.record.aliases ?? []) covered.add(alias);
        findings.push({
          id: entry.record.id,
          aliases: entry.record.aliases ?? [],
          package: pkg.name,
          packageType: pkg.type,
          installed: pkg.version,
          fixed: verdict.fixed,
          severity: severityOf(entry.record, entry.affected),
          url: advisoryUrl(entry.record),
          source: 'osv',
        });
      }
    }
    if (pkg.type === 'deb' && inventory.os?.id === 'debian' && inventory.os.codename) {
      findings.push(...trackerFindings(pkg, inventory.os.codename, database, new Set([...seen, ...covered])));
    }
  }
  return findings;
}

/** The Debian Security Tracker's view: per release, `resolved` at a fixed version, or `open` (unfixed). */
function trackerFindings(
  pkg: InstalledPackage,
  codename: string,
  database: VulnerabilityDatabase,
  found: Set<string>,
): Finding[] {
  const issues = database.tracker.get(pkg.sourceName);
  if (!issues) return [];
  const findings: Finding[] = [];
  const alreadyFound = (id: string) => found.has(id);
  for (const [issue, details] of Object.entries(issues)) {
    const release = details.releases?.[codename];
    if (!release || alreadyFound(issue)) continue;
    const fixed = release.fixed_version ?? '';
    // `fixed_version: "0"` means this release never had the flaw.
    const notAffected = fixed === '0' || compareDpkgVersions(pkg.sourceVersion, fixed) >= 0;
    if (release.status === 'resolved' && notAffected) continue;
    if (release.status !== 'resolved' && release.status !== 'open' && release.status !== 'undetermined') continue;
    findings.push({
      id: issue,
      aliases: [],
      package: pkg.name,
      packageType: 'deb',
      installed: pkg.version,
      fixed: release.status === 'resolved' ? fixed : '',
      severity: severityOfWord(release.urgency),
      url: `https://security-tracker.debian.org/tracker/${encodeURIComponent(issue)}`,
      source: 'debian-tracker',
    });
  }
  return findings;
}
