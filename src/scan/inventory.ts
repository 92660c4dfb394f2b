import { parseDpkgStatus } from './dpkg-status.js';
import type { ImageFile } from './layer-files.js';
import { parseOsRelease } from './os-release.js';
import { parsePythonMetadata } from './python-metadata.js';
import { queryRpmDatabase, RPM_DATABASE_FILES } from './rpm-database.js';
import type { InstalledPackage, Inventory } from './types.js';

const DPKG_STATUS = /^var\/lib\/dpkg\/(status|status\.d\/[^/]+)$/;
const OS_RELEASE = /^(etc|usr\/lib)\/os-release$/;
const PYTHON_METADATA = /(^|\/)[^/]+\.(dist-info\/METADATA|egg-info\/PKG-INFO|egg-info)$/;

/** The only files of an image that the inventory reads. */
export function isInventoryFile(path: string): boolean {
  return DPKG_STATUS.test(path) || OS_RELEASE.test(path) || RPM_DATABASE_FILES.test(path) || PYTHON_METADATA.test(path);
}

/** What an image holds, from its merged files: os-release, dpkg status, the rpm database, Python metadata. */
export async function inventoryOf(files: ReadonlyMap<string, ImageFile>): Promise<Inventory> {
  const text = (path: string) => files.get(path)?.content?.toString('utf8');
  const osText = text('etc/os-release') ?? text('usr/lib/os-release');
  const packages: InstalledPackage[] = [];
  const rpmFiles = new Map<string, Buffer>();
  for (const [path, file] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!file.content) continue;
    if (DPKG_STATUS.test(path)) packages.push(...parseDpkgStatus(file.content.toString('utf8')));
    else if (RPM_DATABASE_FILES.test(path)) rpmFiles.set(path, file.content);
    else if (PYTHON_METADATA.test(path)) {
      const found = parsePythonMetadata(file.content.toString('utf8'), path.replace(/\/(METADATA|PKG-INFO)$/, ''));
      if (found) packages.push(found);
    }
  }
  // One database only: the sysimage path when both exist is the one rpm uses.
  const sysimage = [...rpmFiles].filter(([path]) => path.startsWith('usr/lib/sysimage/'));
  if (rpmFiles.size > 0) packages.push(...(await queryRpmDatabase(new Map(sysimage.length > 0 ? sysimage : rpmFiles))));
  return { os: osText ? parseOsRelease(osText) : undefined, packages };
}
