import type { LANGUAGE_PACKAGES } from '../config/schema.js';
import { evaluateAffected } from './affected-range.js';
import { compareDpkgVersions } from './dpkg-version.js';
import type { OsvRecord } from './osv-record.js';
import { severityOf, severityOfWord } from './severity.js';
import type { ComparedVersion, Finding, InstalledPackage, Inventory, OsRelease, PackageType } from './types.js';
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
function namesOf(pkg: InstalledPackage): ComparedVersion[] {
  const own: ComparedVersion = { kind: 'binary', package: pkg.name, version: pkg.version };
  if (pkg.type === 'pypi' || (pkg.sourceName === pkg.name && pkg.sourceVersion === pkg.version)) return [own];
  return pkg.type === 'deb' ? [sourceOf(pkg), own] : [own, sourceOf(pkg)];
}

/** The source package's name and version; the binary's own when it was built from a source of its name and version. */
function sourceOf(pkg: InstalledPackage): ComparedVersion {
  const same = pkg.sourceName === pkg.name && pkg.sourceVersion === pkg.version;
  return { kind: same ? 'binary' : 'source', package: pkg.sourceName, version: pkg.sourceVersion };
}

export type LanguagePackages = (typeof LANGUAGE_PACKAGES)[number];

/**
 * A Python distribution that a deb or rpm installed is judged by the OS's advisories for that package,
 * which know the fixes the distribution backported (python3-urllib3 1.26.12-1+deb12u4 carries fixes
 * PyPI records as 1.26.17); the PyPI ones apply to it only when asked for (`all`).
 */
function judgedHere(pkg: InstalledPackage, languagePackages: LanguagePackages): boolean {
  switch (languagePackages) {
    case 'unowned':
      return pkg.type !== 'pypi' || pkg.owner === undefined;
    case 'all':
      return true;
    default: {
      const never: never = languagePackages;
      return never;
    }
  }
}

/**
 * Every advisory in the database that affects a package of the inventory, one finding per package and
 * advisory, each saying which version (the source's or the binary's) the advisory was judged against.
 */
export function matchInventory(
  inventory: Inventory,
  database: VulnerabilityDatabase,
  languagePackages: LanguagePackages = 'unowned',
): Finding[] {
  const findings: Finding[] = [];
  for (const pkg of inventory.packages) {
    const choice = ecosystemFor(pkg.type, inventory.os);
    if (!choice || !judgedHere(pkg, languagePackages)) continue;
    const compare = versionOrder(pkg.type);
    const seen = new Set<string>();
    const covered = new Set<string>();
    for (const compared of namesOf(pkg)) {
      for (const entry of database.affecting(choice.base, compared.package)) {
        if (seen.has(entry.record.id) || !ecosystemApplies(entry.ecosystem, choice)) continue;
        const verdict = evaluateAffected(compared.version, entry.affected, compare);
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
          compared,
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
      compared: sourceOf(pkg),
    });
  }
  return findings;
}
