/** The words of scanning: what an image holds, what is wrong with it, and the verdict. */
export type PackageType = 'deb' | 'rpm' | 'pypi';

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
}

export interface OsRelease {
  /** `ID` of os-release: debian, ubuntu, rocky… */
  id: string;
  versionId: string;
  codename: string;
  prettyName: string;
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
}

export type Verdict = 'clean' | 'dirty' | 'critical';
