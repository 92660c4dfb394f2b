import { parseParagraphs } from '../scan/dpkg-status.js';

/**
 * One package file apt reads (a Packages index of a suite and component, or the dpkg status file), with
 * what preferences can pin it by (apt_preferences(5): a=, n=, v=, o=, l=, c=, b=, and the site's host).
 */
export interface PackageFile {
  kind: 'index' | 'status';
  archive: string;
  codename: string;
  version: string;
  origin: string;
  label: string;
  component: string;
  architecture: string;
  site: string;
  notAutomatic: boolean;
  butAutomaticUpgrades: boolean;
}

/** One version of one package as an index offers it. */
export interface IndexedVersion {
  name: string;
  version: string;
  architecture: string;
  /** The source package, for `src:` pins. */
  source: string;
  /** Ubuntu's phased updates: apt holds back a version whose percentage excludes the machine. */
  phasedPercentage?: number;
}

/** The fields of a suite's Release (or InRelease) file that pins and the policy read. */
export interface ReleaseInfo {
  archive: string;
  codename: string;
  version: string;
  origin: string;
  label: string;
  notAutomatic: boolean;
  butAutomaticUpgrades: boolean;
  /** `No-Support-for-Architecture-all: Packages`: arch-all packages are in every architecture's index too. */
  allInArchitectureIndexes: boolean;
  /** Files the Release lists (path → sha256), to fetch the index that exists. */
  sha256: Map<string, string>;
}

/** The signed part of an InRelease file (the whole of a Release file). */
function releaseBody(text: string): string {
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) return text;
  const start = text.indexOf('\n\n');
  const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  return text.slice(start + 2, end === -1 ? undefined : end);
}

export function parseRelease(text: string): ReleaseInfo {
  const [fields = new Map<string, string>()] = parseParagraphs(releaseBody(text));
  const sha256 = new Map<string, string>();
  for (const line of (fields.get('SHA256') ?? '').split('\n')) {
    const [hash, , path] = line.trim().split(/\s+/);
    if (hash && path) sha256.set(path, hash);
  }
  return {
    archive: fields.get('Suite') ?? '',
    codename: fields.get('Codename') ?? '',
    version: fields.get('Version') ?? '',
    origin: fields.get('Origin') ?? '',
    label: fields.get('Label') ?? '',
    notAutomatic: fields.get('NotAutomatic') === 'yes',
    butAutomaticUpgrades: fields.get('ButAutomaticUpgrades') === 'yes',
    allInArchitectureIndexes: fields.get('No-Support-for-Architecture-all') === 'Packages',
    sha256,
  };
}

/** A Packages index that cannot be what apt reads: the line and what is wrong with it. */
export class DebIndexError extends Error {}

/** deb-version(7): an optional epoch, then an upstream version and revision of these characters only. */
const DEBIAN_VERSION = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~:-]*$/;
const ARCHITECTURE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The versions a Packages index offers of the packages asked for (`wanted`: names, null for all). Read line by
 * line without building every paragraph: Debian's main index is 50 MB and an image holds a few hundred packages.
 */
export function parsePackagesIndex(text: string, wanted: ReadonlySet<string> | null): IndexedVersion[] {
  const versions: IndexedVersion[] = [];
  let name = '';
  let version = '';
  let architecture = '';
  let source = '';
  let phased: number | undefined;
  let lineNumber = 0;
  let stanzaLine = 0;
  const flush = () => {
    if (stanzaLine !== 0 && (name === '' || version === '')) {
      // A cut-short download or a file that is not an index: what apt would read of it cannot be known.
      throw new DebIndexError(`line ${stanzaLine}: a stanza without ${name === '' ? 'Package' : 'Version'}`);
    }
    if (name !== '' && (wanted === null || wanted.has(name))) {
      // What the patch layer passes to apt-get as name=version: only what a Debian version can be.
      if (!DEBIAN_VERSION.test(version))
        throw new DebIndexError(
          `line ${stanzaLine}: ${name} has no Debian version (${JSON.stringify(version.slice(0, 80))})`,
        );
      if (!ARCHITECTURE_NAME.test(architecture))
        throw new DebIndexError(
          `line ${stanzaLine}: ${name} ${version} has no architecture (${JSON.stringify(architecture.slice(0, 80))})`,
        );
      versions.push({
        name,
        version,
        architecture,
        source: source === '' ? name : source,
        ...(phased === undefined ? {} : { phasedPercentage: phased }),
      });
    }
    name = version = architecture = source = '';
    phased = undefined;
    stanzaLine = 0;
  };
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end);
    start = end + 1;
    lineNumber++;
    if (line !== '' && stanzaLine === 0) stanzaLine = lineNumber;
    if (line === '') {
      flush();
      if (newline === -1) break;
      continue;
    }
    if (line.startsWith('Package: ')) name = line.slice(9).trim();
    else if (line.startsWith('Version: ')) version = line.slice(9).trim();
    else if (line.startsWith('Architecture: ')) architecture = line.slice(14).trim();
    // `Source: name (version)`: the version is the source's, the name is what src: pins match.
    else if (line.startsWith('Source: ')) source = line.slice(8).trim().split(/\s+/)[0] ?? '';
    else if (line.startsWith('Phased-Update-Percentage: ')) phased = Number(line.slice(26).trim());
    if (newline === -1) {
      flush();
      break;
    }
  }
  return versions;
}
