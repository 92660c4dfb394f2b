/** The words of scanning: what an image holds, what is wrong with it, and the verdict. */
export type PackageType = 'deb' | 'rpm' | 'pypi';

export type OsPackageType = Exclude<PackageType, 'pypi'>;

/** The OS package (deb, rpm) whose file list holds a Python distribution's metadata. */
export interface PackageOwner {
  type: OsPackageType;
  name: string;
}

export interface InstalledPackage {
  type: PackageType;
  name: string;
  version: string;
  /** The source package (deb, rpm) that advisories name; the package itself when it has none. */
  sourceName: string;
  sourceVersion: string;
  arch?: string;
  /** Where in the image the record came from (a dist-info folder for Python packages). */
  location?: string;
  /** Python: the OS package that installed the distribution; absent when none did. */
  owner?: PackageOwner;
  /** Python: what the dist-info's INSTALLER file names (pip, uv…), when it has one. */
  installer?: string;
  /** Licences as the package declares them in a machine-readable form (SPDX ids or expressions, or names). */
  licenses?: string[];
  /** deb, rpm: the installed packages of the same type this one depends on, by name. */
  dependsOn?: string[];
  /** deb: dpkg's state when it is not `installed` (the files are on disk all the same). */
  state?: string;
}

export interface OsRelease {
  /** `ID` of os-release: debian, ubuntu, rocky… */
  id: string;
  versionId: string;
  codename: string;
  prettyName: string;
  /** The point release (Debian's 12.8 from /etc/debian_version) when the image says more than VERSION_ID. */
  pointRelease?: string;
}

export interface Inventory {
  os: OsRelease | undefined;
  packages: InstalledPackage[];
}

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  id: string;
  aliases: string[];
  package: string;
  /** deb, rpm, pypi; or what trivy calls the result type it found it in. */
  packageType: string;
  installed: string;
  /** Empty when no fixed version is known (unfixed). */
  fixed: string;
  severity: Severity;
  url: string;
  /** Which database said so: osv, debian-tracker, trivy. */
  source: string;
  /**
   * The version the advisory was judged against: the source package's (as Debian's advisories name
   * it) or the binary's own. Unknown for findings another scanner made.
   */
  compared?: ComparedVersion;
}

export interface ComparedVersion {
  kind: 'source' | 'binary';
  package: string;
  version: string;
}

export type Verdict = 'clean' | 'dirty' | 'critical';
