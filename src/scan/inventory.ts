import { dep5Licenses } from './debian-copyright.js';
import { parseDpkgStatus, resolveDpkgDependencies, type DpkgRecord } from './dpkg-status.js';
import type { ImageFile } from './layer-files.js';
import { parseOsRelease } from './os-release.js';
import { dpkgListPaths, dpkgPackageOfListFile, md5sumsPaths, PythonOwnership } from './package-ownership.js';
import { oneRecordPerDistribution, parsePythonMetadata } from './python-metadata.js';
import { queryRpmDatabase, RPM_DATABASE_FILES } from './rpm-database.js';
import type { InstalledPackage, Inventory } from './types.js';

const DPKG_STATUS = /^var\/lib\/dpkg\/(status|status\.d\/[^/]+)$/;
const DPKG_MD5SUMS = /^var\/lib\/dpkg\/status\.d\/([^/]+)\.md5sums$/;
const DPKG_LIST = /^var\/lib\/dpkg\/info\/[^/]+\.list$/;
const DEBIAN_COPYRIGHT = /^usr\/share\/doc\/([^/]+)\/copyright$/;
const OS_RELEASE = /^(etc|usr\/lib)\/os-release$/;
const DEBIAN_VERSION = 'etc/debian_version';
const PYTHON_METADATA = /(^|\/)[^/]+\.(dist-info\/METADATA|egg-info\/PKG-INFO|egg-info)$/;
const PYTHON_INSTALLER = /(^|\/)[^/]+\.dist-info\/INSTALLER$/;

/** The only files of an image that the inventory reads. */
export function isInventoryFile(path: string): boolean {
  return (
    DPKG_STATUS.test(path) ||
    DPKG_LIST.test(path) ||
    DEBIAN_COPYRIGHT.test(path) ||
    OS_RELEASE.test(path) ||
    path === DEBIAN_VERSION ||
    RPM_DATABASE_FILES.test(path) ||
    PYTHON_METADATA.test(path) ||
    PYTHON_INSTALLER.test(path)
  );
}

/** The files an inventory is made of, sorted by kind as they are read. */
interface InventoryFiles {
  dpkgRecords: DpkgRecord[];
  copyrights: Map<string, string[]>;
  distributions: InstalledPackage[];
  installers: Map<string, string>;
  rpmFiles: Map<string, Buffer>;
  ownership: PythonOwnership;
}

function sortFiles(files: ReadonlyMap<string, ImageFile>): InventoryFiles {
  const sorted: InventoryFiles = {
    dpkgRecords: [],
    copyrights: new Map(),
    distributions: [],
    installers: new Map(),
    rpmFiles: new Map(),
    ownership: new PythonOwnership(),
  };
  for (const [path, file] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!file.content) continue;
    const text = () => file.content?.toString('utf8') ?? '';
    const md5sums = DPKG_MD5SUMS.exec(path);
    const copyright = DEBIAN_COPYRIGHT.exec(path);
    if (md5sums?.[1]) sorted.ownership.addFiles({ type: 'deb', name: md5sums[1] }, md5sumsPaths(text()));
    else if (DPKG_STATUS.test(path)) sorted.dpkgRecords.push(...parseDpkgStatus(text()));
    else if (DPKG_LIST.test(path)) {
      sorted.ownership.addFiles({ type: 'deb', name: dpkgPackageOfListFile(path) }, dpkgListPaths(text()));
    } else if (copyright?.[1]) {
      const licenses = dep5Licenses(file.content);
      if (licenses && licenses.length > 0) sorted.copyrights.set(copyright[1], licenses);
    } else if (RPM_DATABASE_FILES.test(path)) sorted.rpmFiles.set(path, file.content);
    else if (PYTHON_INSTALLER.test(path)) sorted.installers.set(path.slice(0, -'/INSTALLER'.length), text().trim());
    else if (PYTHON_METADATA.test(path)) {
      const found = parsePythonMetadata(text(), path.replace(/\/(METADATA|PKG-INFO)$/, ''));
      if (found) sorted.distributions.push(found);
    }
  }
  return sorted;
}

/**
 * What an image holds, from its merged files: os-release, dpkg status (and its file lists, for who
 * owns each Python distribution), the rpm database, Python metadata, and declared licences.
 */
export async function inventoryOf(files: ReadonlyMap<string, ImageFile>): Promise<Inventory> {
  const text = (path: string) => files.get(path)?.content?.toString('utf8');
  const osText = text('etc/os-release') ?? text('usr/lib/os-release');
  const sorted = sortFiles(files);
  const packages: InstalledPackage[] = resolveDpkgDependencies(sorted.dpkgRecords).map((pkg) => {
    const licenses = sorted.copyrights.get(pkg.name);
    return licenses ? { ...pkg, licenses } : pkg;
  });
  // One database only: the sysimage path when both exist is the one rpm uses.
  const sysimage = [...sorted.rpmFiles].filter(([path]) => path.startsWith('usr/lib/sysimage/'));
  if (sorted.rpmFiles.size > 0) {
    const rpm = await queryRpmDatabase(new Map(sysimage.length > 0 ? sysimage : sorted.rpmFiles));
    packages.push(...rpm.packages);
    for (const { name, paths } of rpm.pythonFiles) sorted.ownership.addFiles({ type: 'rpm', name }, paths);
  }
  for (const distribution of oneRecordPerDistribution(sorted.distributions)) {
    const location = distribution.location ?? '';
    const owner = sorted.ownership.ownerOf(location);
    const installer = sorted.installers.get(location);
    packages.push({ ...distribution, ...(owner ? { owner } : {}), ...(installer ? { installer } : {}) });
  }
  return { os: osText ? parseOsRelease(osText, text(DEBIAN_VERSION)) : undefined, packages };
}
