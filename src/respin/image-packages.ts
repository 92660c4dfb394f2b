import { constants } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/types.js';
import { parseDpkgStatus } from '../scan/dpkg-status.js';
import { readLayoutFiles, type ImageFile } from '../scan/layer-files.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errorMessage } from '../util/errors.js';
import { fail, ok, type Result } from '../util/result.js';
import type { InstalledVersion } from './apt-policy.js';
import {
  defaultReleaseOf,
  isPreferencesPart,
  parsePreferences,
  PREFERENCES_DIR,
  PREFERENCES_FILE,
  PreferencesError,
  type Pin,
} from './apt-preferences.js';

/** What a respin needs to know of an image: its package manager, what it holds, and its own pins. */
export interface ImagePackages {
  /** `deb` when dpkg's status is there; `rpm` when an rpm database is; `none` otherwise. */
  packageType: 'deb' | 'rpm' | 'none';
  nativeArchitecture: string;
  installed: InstalledVersion[];
  /** The image's pins in apt's reading order: APT::Default-Release, preferences, preferences.d/ by name. */
  pins: Pin[];
}

const DPKG_STATUS = 'var/lib/dpkg/status';
/** dpkg's status of an image with thousands of packages is a few MB; beyond this, the image is not one to patch. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

class ImageFileTooLarge extends Error {}
const APT_CONF = 'etc/apt/apt.conf';
const APT_CONF_DIR = 'etc/apt/apt.conf.d/';
const RPM_DATABASE = /^(var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/(Packages|rpmdb\.sqlite|Packages\.db)$/;

/** What is copied out of an image that cannot be mounted: the respin's files are at or under these. */
const DEB_PATHS = ['/var/lib/dpkg/status', '/etc/apt'];
const RPM_PATHS = ['/var/lib/rpm', '/usr/lib/sysimage/rpm'];

/** The only files a respin reads from an image. */
function isRespinFile(path: string): boolean {
  return (
    path === DPKG_STATUS ||
    path === PREFERENCES_FILE ||
    path === APT_CONF ||
    (path.startsWith(PREFERENCES_DIR) && !path.slice(PREFERENCES_DIR.length).includes('/')) ||
    (path.startsWith(APT_CONF_DIR) && !path.slice(APT_CONF_DIR.length).includes('/')) ||
    RPM_DATABASE.test(path)
  );
}

/** An image's packages and pins from its files (path relative to the root → content). */
export function imagePackagesOf(files: ReadonlyMap<string, Buffer>): ImagePackages {
  const text = (path: string) => files.get(path)?.toString('utf8');
  const status = text(DPKG_STATUS);
  if (status === undefined) {
    const rpm = [...files.keys()].some((path) => RPM_DATABASE.test(path));
    return { packageType: rpm ? 'rpm' : 'none', nativeArchitecture: '', installed: [], pins: [] };
  }
  const installed = parseDpkgStatus(status).map(({ pkg }) => ({
    name: pkg.name,
    architecture: pkg.arch ?? 'all',
    version: pkg.version,
    source: pkg.sourceName,
  }));
  const nativeArchitecture = installed.find((entry) => entry.name === 'dpkg')?.architecture ?? 'amd64';
  const inDir = (dir: string) =>
    [...files.keys()].filter((path) => path.startsWith(dir) && isPreferencesPart(path.slice(dir.length))).sort();
  const aptConf = [APT_CONF, ...[...files.keys()].filter((path) => path.startsWith(APT_CONF_DIR)).sort()]
    .map(text)
    .join('\n');
  const defaultRelease = defaultReleaseOf(aptConf);
  const pins: Pin[] = [
    ...(defaultRelease === undefined
      ? []
      : [{ packages: [], match: parseDefaultRelease(defaultRelease), priority: 990, origin: 'APT::Default-Release' }]),
    ...[PREFERENCES_FILE, ...inDir(PREFERENCES_DIR)].flatMap((path) => {
      const content = text(path);
      return content === undefined ? [] : parsePreferences(content, `/${path}`);
    }),
  ];
  return { packageType: 'deb', nativeArchitecture, installed, pins };
}

/** APT::Default-Release names a release as a bare `Pin: release` word does. */
function parseDefaultRelease(value: string): Pin['match'] {
  const [pin] = parsePreferences(`Package: *\nPin: release ${value}\nPin-Priority: 990\n`, 'APT::Default-Release');
  if (pin === undefined) throw new PreferencesError(`APT::Default-Release "${value}": not a release`);
  return pin.match;
}

/**
 * The packages of an image the engine holds: straight from its storage where the engine mounts images, else
 * the few files copied out where it can do that (docker), else (unless `withoutExport`) from the layers of its
 * OCI export. Kept by image id under `cacheDir`: an image never changes, so a later respin asks the engine
 * nothing. An image whose files cannot be read is a failure with one line.
 */
export async function readImagePackages(
  engine: Engine,
  imageId: string,
  cacheDir: string,
  options: { withoutExport?: boolean } = {},
): Promise<Result<ImagePackages, string>> {
  const known = await readFile(keptFile(cacheDir, imageId), 'utf8').then(
    (text) => JSON.parse(text) as ImagePackages,
    () => undefined,
  );
  if (known !== undefined) return ok(known);
  const files = await imageFiles(engine, imageId, options.withoutExport ?? false);
  if (!files.ok) return files;
  const packages = packagesOfFiles(files.value, imageId);
  if (packages.ok) await keepImagePackages(cacheDir, imageId, packages.value);
  return packages;
}

/** The packages of an image, read as a build reads them (through a mount or a copy, never an export). */
export async function builtImagePackages(engine: Engine, imageId: string): Promise<Result<ImagePackages, string>> {
  const files = await imageFiles(engine, imageId, true);
  return files.ok ? packagesOfFiles(files.value, imageId) : files;
}

/** The packages under an image's root this process has mounted already (`name` says which in a failure). */
export async function packagesUnderRoot(root: string, name: string): Promise<Result<ImagePackages, string>> {
  const files = await filesOfRoot(root, name);
  return files.ok ? packagesOfFiles(files.value, name) : files;
}

async function filesOfRoot(root: string, name: string): Promise<Result<Map<string, Buffer>, string>> {
  try {
    return ok(await filesUnder(root));
  } catch (error) {
    if (error instanceof ImageFileTooLarge) return fail(`${name}: ${error.message}`);
    throw error;
  }
}

/** Keeps an image's packages by its id for the next respin: an image never changes. */
export async function keepImagePackages(cacheDir: string, imageId: string, packages: ImagePackages): Promise<void> {
  await writeFileAtomic(keptFile(cacheDir, imageId), JSON.stringify(packages));
}

const keptFile = (cacheDir: string, imageId: string) => join(cacheDir, `${imageId.replace(/^sha256:/, '')}.json`);

function packagesOfFiles(files: ReadonlyMap<string, Buffer>, imageId: string): Result<ImagePackages, string> {
  try {
    return ok(imagePackagesOf(files));
  } catch (error) {
    if (!(error instanceof PreferencesError)) throw error;
    return fail(`${imageId}: ${error.message}`);
  }
}

async function imageFiles(
  engine: Engine,
  imageId: string,
  withoutExport: boolean,
): Promise<Result<Map<string, Buffer>, string>> {
  if (engine.mountImage) {
    const mounted = await engine.mountImage(imageId);
    if (mounted.ok) {
      try {
        return await filesOfRoot(mounted.value.root, imageId);
      } finally {
        await mounted.value.release();
      }
    }
    if (mounted.failure.kind !== 'engine') return fail(`${imageId}: cannot read the image: ${mounted.failure.message}`);
  }
  if (engine.copyFiles) {
    // Each path is one copy: an rpm database is asked for only where dpkg's status is not there.
    let copied = await engine.copyFiles(imageId, DEB_PATHS);
    if (copied.ok && !copied.value.has(DPKG_STATUS)) copied = await engine.copyFiles(imageId, RPM_PATHS);
    if (!copied.ok) return fail(`${imageId}: cannot read the image: ${copied.failure.message}`);
    return ok(new Map([...copied.value].filter(([path]) => isRespinFile(path))));
  }
  if (withoutExport) return fail(`${imageId}: the engine can neither mount it nor copy files out of it`);
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-respin-'));
  try {
    const exported = await engine.exportOci(imageId, join(dir, 'layout'));
    if (!exported.ok) return fail(`${imageId}: cannot read the image: ${exported.failure.message}`);
    const files = await readLayoutFiles(join(dir, 'layout'), isRespinFile).catch((error: unknown) => error);
    if (files instanceof Error) return fail(`${imageId}: cannot read the image: ${errorMessage(files)}`);
    return ok(contents(files as Map<string, ImageFile>));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function contents(files: ReadonlyMap<string, ImageFile>): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  for (const [path, file] of files) if (file.kind === 'file' && file.content) found.set(path, file.content);
  return found;
}

/**
 * A regular file under a mounted image root, never through a symbolic link: a link in an image means a path
 * inside the image, and followed on the host it would read the host's own files.
 */
async function readInsideRoot(root: string, path: string): Promise<Buffer | undefined> {
  const parts = path.split('/');
  for (let depth = 1; depth <= parts.length; depth++) {
    const info = await lstat(join(root, ...parts.slice(0, depth))).catch(() => undefined);
    if (info === undefined || info.isSymbolicLink()) return undefined;
    if (depth === parts.length && !info.isFile()) return undefined;
  }
  const handle = await open(join(root, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (handle === undefined) return undefined;
  try {
    const info = await handle.stat();
    if (info.size > MAX_FILE_BYTES)
      throw new ImageFileTooLarge(`/${path} is ${info.size} bytes, more than a respin reads`);
    return info.isFile() ? await handle.readFile() : undefined;
  } finally {
    await handle.close();
  }
}

/** The respin's files under a mounted root: a few fixed paths and two folders, nothing else is walked. */
async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const take = async (path: string) => {
    const content = await readInsideRoot(root, path);
    if (content !== undefined) found.set(path, content);
  };
  const names = async (dir: string) => {
    const info = await lstat(join(root, dir)).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) return [];
    return (await readdir(join(root, dir)).catch(() => [])).map((name) => `${dir}${name}`);
  };
  const rpm = ['var/lib/rpm/Packages', 'var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];
  const paths = [
    DPKG_STATUS,
    PREFERENCES_FILE,
    APT_CONF,
    ...rpm,
    ...(await names(PREFERENCES_DIR)),
    ...(await names(APT_CONF_DIR)),
  ];
  await Promise.all(paths.map(take));
  return found;
}
