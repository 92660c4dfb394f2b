import { compareDpkgVersions } from '../scan/dpkg-version.js';
import { NEVER_PIN, type Pin, type PinMatch } from './apt-preferences.js';
import type { IndexedVersion, PackageFile } from './deb-index.js';

/**
 * apt's choice of a candidate version (apt-pkg/policy.cc, apt 2.x), for the packages an image holds: the
 * default priorities of package files (500, 100 for the status file and ButAutomaticUpgrades, 1 for
 * NotAutomatic), general pins on files (first match wins, `never` overrides), specific pins on versions
 * (first match wins), and the rule that a priority under 1000 never downgrades. Phased updates are not
 * applied: apt 2.6 leaves them to the upgrade logic, and includes them in containers (no machine id).
 */

/** A package an image holds, as dpkg's status records it. */
export interface InstalledVersion {
  name: string;
  architecture: string;
  version: string;
  source: string;
}

/** Every version the new sources offer, with the index files each is in. */
export interface AvailableVersion extends IndexedVersion {
  files: PackageFile[];
}

export interface PolicyInput {
  nativeArchitecture: string;
  installed: readonly InstalledVersion[];
  available: readonly AvailableVersion[];
  /** The image's pins in the order apt reads them; APT::Default-Release first, as apt adds it first. */
  pins: readonly Pin[];
}

/** A package whose candidate is another version than the one installed: what an upgrade would change. */
export interface MovedPackage {
  name: string;
  architecture: string;
  from: string;
  to: string;
}

const STATUS_FILE: PackageFile = {
  kind: 'status',
  archive: '',
  codename: '',
  version: '',
  origin: '',
  label: '',
  // apt keeps the status file's archive "now" in its component.
  component: 'now',
  architecture: '',
  site: '',
  notAutomatic: false,
  butAutomaticUpgrades: false,
};

/** apt's patterns: `/regex/` (extended, case-insensitive), else a case-insensitive glob. */
export function expressionMatches(pattern: string, value: string): boolean {
  if (pattern.length > 1 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      return new RegExp(pattern.slice(1, -1), 'i').test(value);
    } catch {
      return false;
    }
  }
  return globRegExp(pattern).test(value);
}

function globRegExp(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] ?? '';
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const close = pattern.indexOf(']', index + 1);
      if (close === -1) source += '\\[';
      else {
        source += `[${pattern
          .slice(index + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        index = close;
      }
    } else source += char.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

/** A version string equal to the pattern, or starting with it when the pin ends in `*` (apt's MatchVer). */
function versionMatches(actual: string, wanted: string, prefix: boolean): boolean {
  return prefix ? actual.toLowerCase().startsWith(wanted.toLowerCase()) : actual.toLowerCase() === wanted.toLowerCase();
}

/** pkgVersionMatch::FileMatch: whether a release or origin pin applies to a package file. */
export function fileMatches(match: PinMatch, file: PackageFile): boolean {
  if (match.type === 'version') return false;
  if (match.type === 'origin') return file.kind === 'index' && expressionMatches(match.site, file.site);
  const pin = match.fields;
  if (file.kind === 'status') {
    if (pin.all) return true;
    if (pin.origin !== undefined || pin.label !== undefined || pin.version !== undefined || pin.codename !== undefined)
      return false;
    if (pin.archive !== undefined && !expressionMatches(pin.archive, file.component)) return false;
    if (pin.release !== undefined && !expressionMatches(pin.release, file.component)) return false;
    if (pin.component !== undefined && !expressionMatches(pin.component, file.component)) return false;
    return pin.architecture === undefined || expressionMatches(pin.architecture, file.architecture);
  }
  if (pin.all) return true;
  if (Object.values(pin).every((value) => value === undefined)) return false;
  const { version, versionPrefix = false } = pin;
  if (
    version !== undefined &&
    !versionMatches(file.version, version, versionPrefix) &&
    !expressionMatches(version, file.version)
  )
    return false;
  const checks: Array<[string | undefined, string[]]> = [
    [pin.origin, [file.origin]],
    [pin.archive, [file.archive]],
    [pin.codename, [file.codename]],
    [pin.release, [file.archive, file.codename]],
    [pin.label, [file.label]],
    [pin.component, [file.component]],
    [pin.architecture, [file.architecture]],
  ];
  return checks.every(
    ([pattern, values]) => pattern === undefined || values.some((value) => expressionMatches(pattern, value)),
  );
}

/** The default priority of a package file, then the first general pin that matches it (a `never` pin always wins). */
function filePriority(file: PackageFile, generalPins: readonly Pin[]): number {
  let priority = file.kind === 'status' || file.butAutomaticUpgrades ? 100 : file.notAutomatic ? 1 : 500;
  let fixed = false;
  for (const pin of generalPins) {
    if ((fixed && pin.priority !== NEVER_PIN) || priority === NEVER_PIN || !fileMatches(pin.match, file)) continue;
    priority = pin.priority;
    fixed = true;
  }
  return priority;
}

/** Whether a specific pin's package field names this package (`src:`, `:arch`, globs and /regex/ allowed). */
function pinNames(entry: string, version: AvailableVersion, nativeArchitecture: string): boolean {
  let name = entry;
  const bySource = name.startsWith('src:');
  if (bySource) name = name.slice(4);
  let architecture = nativeArchitecture;
  const colon = name.lastIndexOf(':');
  if (colon !== -1) {
    architecture = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const versionArchitecture = version.architecture === 'all' ? nativeArchitecture : version.architecture;
  if (architecture !== 'any' && !expressionMatches(architecture, versionArchitecture)) return false;
  const subject = bySource ? version.source : version.name;
  const wildcard = (name.startsWith('/') && name.endsWith('/') && name.length > 1) || /[*[?]/.test(name);
  return wildcard ? expressionMatches(name, subject) : name === subject;
}

function pinMatchesVersion(match: PinMatch, version: AvailableVersion): boolean {
  if (match.type === 'version') {
    const prefix = match.pattern.endsWith('*');
    const wanted = prefix ? match.pattern.slice(0, -1) : match.pattern;
    return versionMatches(version.version, wanted, prefix) || expressionMatches(match.pattern, version.version);
  }
  return version.files.some((file) => fileMatches(match, file));
}

/** GetPriority(Ver): the first specific pin of the version, else the best of its files. */
function versionPriority(
  version: AvailableVersion,
  installed: boolean,
  specificPins: readonly Pin[],
  priorityOfFile: (file: PackageFile) => number,
  nativeArchitecture: string,
): number {
  const pin = specificPins.find(
    (each) =>
      each.packages.some((entry) => pinNames(entry, version, nativeArchitecture)) &&
      pinMatchesVersion(each.match, version),
  );
  if (pin !== undefined) {
    if (pin.priority === NEVER_PIN) return NEVER_PIN;
    if (version.files.some((file) => priorityOfFile(file) !== NEVER_PIN)) return pin.priority;
  }
  let best = Number.NEGATIVE_INFINITY;
  for (const file of version.files) {
    // The status file offers only the installed version.
    best = Math.max(best, file.kind === 'status' && !installed ? -1 : priorityOfFile(file));
  }
  return best === Number.NEGATIVE_INFINITY ? 0 : best;
}

/** The packages whose candidate differs from what is installed, as `apt-get dist-upgrade` would change them. */
export function movedPackages(input: PolicyInput): MovedPackage[] {
  const native = input.nativeArchitecture;
  const key = (name: string, architecture: string) => `${name}:${architecture === 'all' ? native : architecture}`;
  const general = input.pins.filter((pin) => pin.packages.length === 0);
  const specific = input.pins.filter((pin) => pin.packages.length > 0);
  const priorities = new Map<PackageFile, number>();
  const priorityOfFile = (file: PackageFile) => {
    let priority = priorities.get(file);
    if (priority === undefined) priorities.set(file, (priority = filePriority(file, general)));
    return priority;
  };
  const offered = new Map<string, AvailableVersion[]>();
  for (const version of input.available) {
    const list = offered.get(key(version.name, version.architecture)) ?? [];
    list.push(version);
    offered.set(key(version.name, version.architecture), list);
  }
  const moved: MovedPackage[] = [];
  for (const current of input.installed) {
    const versions = mergedVersions(offered.get(key(current.name, current.architecture)) ?? [], current);
    const candidate = candidateOf(versions, current, (version) =>
      versionPriority(version, version.version === current.version, specific, priorityOfFile, native),
    );
    if (candidate !== undefined && candidate.version !== current.version) {
      moved.push({
        name: current.name,
        architecture: current.architecture,
        from: current.version,
        to: candidate.version,
      });
    }
  }
  return moved;
}

/** Every version of one package, newest first, the installed one carrying the status file too. */
function mergedVersions(offered: readonly AvailableVersion[], current: InstalledVersion): AvailableVersion[] {
  const byVersion = new Map<string, AvailableVersion>();
  for (const version of offered) {
    const known = byVersion.get(version.version);
    if (known) known.files = [...known.files, ...version.files];
    else byVersion.set(version.version, { ...version, files: [...version.files] });
  }
  const installed = byVersion.get(current.version);
  if (installed) installed.files.push(STATUS_FILE);
  else byVersion.set(current.version, { ...current, files: [STATUS_FILE] });
  return [...byVersion.values()].sort((a, b) => compareDpkgVersions(b.version, a.version));
}

/** GetCandidateVer: the highest priority, the newest among equals, never a downgrade under 1000. */
function candidateOf(
  versions: readonly AvailableVersion[],
  current: InstalledVersion,
  priorityOf: (version: AvailableVersion) => number,
): AvailableVersion | undefined {
  let candidate: AvailableVersion | undefined;
  let best = -1;
  for (const version of versions) {
    const priority = priorityOf(version);
    if (priority === 0 || priority <= best) continue;
    if (priority < 1000 && compareDpkgVersions(version.version, current.version) < 0) continue;
    best = priority;
    candidate = version;
  }
  return candidate;
}
