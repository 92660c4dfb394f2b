import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { folderBytes } from './files.js';
import { Aptly } from './snapshot-repos/aptly.js';
import { movedPackages, readPackagesIndex, type MovedPackage } from './snapshot-repos/packages-index.js';
import { repackDeb } from './snapshot-repos/repack-deb.js';

export type { MovedPackage } from './snapshot-repos/packages-index.js';

/**
 * The three snapshots as versions of one Pulp distribution: A is Debian bookworm main, B is A with
 * bookworm-updates and bookworm-security merged in (the newest version wins), C is A with one package
 * bumped. All three publish the suite `bookworm`, so an image's apt sources are the same whichever it
 * was built from, as when a Pulp distribution moves to a new version.
 */
export const SNAPSHOT_VERSIONS = { A: '1', B: '2', C: '3' } as const;
export type SnapshotName = keyof typeof SNAPSHOT_VERSIONS;
const SNAPSHOT_NAMES: readonly SnapshotName[] = ['A', 'B', 'C'];

export const SNAPSHOT_SUITE = 'bookworm';
/** A Debian package name, as Policy 5.6.1 spells it: what an aptly filter can name without quoting. */
export const DEBIAN_PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEBIAN = 'http://deb.debian.org/debian';
const DEBIAN_SECURITY = 'http://deb.debian.org/debian-security';
/** What mmdebstrap's minbase variant installs (Priority required and apt) and ci-builder's bootstrap adds. */
const MINBASE = ['Priority (required)', 'apt', 'ca-certificates'];
/** Changing what a fixture holds or how it is laid out changes this, so older cached fixtures are not used. */
const FIXTURE_SCHEME = 1;

export interface SnapshotReposOptions {
  /** Packages the snapshots hold, with their dependencies, besides what a minbase bootstrap needs. */
  packages: readonly string[];
  /** The package C bumps: one only a leaf image installs. */
  bump?: string;
  /** Where fixtures are kept between runs (default: snapshotReposCacheDir()). */
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface SnapshotRepos {
  /** Published repositories (dists/ and pool/), as Pulp serves one distribution version. */
  folders: Record<SnapshotName, string>;
  suite: string;
  architecture: string;
  /** How many packages each snapshot holds. */
  counts: Record<SnapshotName, number>;
  /** Packages B holds at another version than A (bookworm-updates and bookworm-security). */
  movedInB: MovedPackage[];
  /** The one package C holds at another version than A. */
  bumped: MovedPackage;
  /** When and how fast the fixture was first made, and what its mirrors downloaded (the .debs in aptly's pool). */
  made: { at: string; seconds: number; downloadedBytes: number };
  /** Whether this call found the fixture made already, and how long it took. */
  cached: boolean;
  seconds: number;
  dir: string;
}

type FixtureRecord = Omit<SnapshotRepos, 'cached' | 'seconds' | 'dir' | 'folders'>;

/** `$CI_BUILDER_CACHE_DIR/../snapshot-repos`, or ~/.cache/ci-builder-test/snapshot-repos. */
export function snapshotReposCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CI_BUILDER_CACHE_DIR) return join(dirname(resolve(env.CI_BUILDER_CACHE_DIR)), 'snapshot-repos');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ci-builder-test', 'snapshot-repos');
}

/** fake-pulp's localContent for the snapshots: `<basePath>1/` is A, `2/` B, `3/` C. */
export function pulpContent(repos: Pick<SnapshotRepos, 'folders'>, basePath = 'debian/'): Record<string, string> {
  return Object.fromEntries(
    SNAPSHOT_NAMES.map((name) => [`${basePath}${SNAPSHOT_VERSIONS[name]}/`, repos.folders[name]]),
  );
}

/**
 * Snapshots A, B and C for these packages, built with aptly from Debian's mirrors at the first call
 * and kept under the cache folder (keyed on the package list): later calls download nothing.
 */
export async function snapshotRepos(options: SnapshotReposOptions): Promise<SnapshotRepos> {
  const started = Date.now();
  const bump = options.bump ?? 'memcached';
  const packages = [...new Set([...options.packages, bump])].sort();
  const bad = packages.find((name) => !DEBIAN_PACKAGE_NAME.test(name));
  if (bad !== undefined) throw new Error(`snapshot-repos: not a Debian package name: ${JSON.stringify(bad)}`);
  const architecture = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const cacheDir = options.cacheDir ?? snapshotReposCacheDir();
  const key = createHash('sha256')
    .update(JSON.stringify({ scheme: FIXTURE_SCHEME, suite: SNAPSHOT_SUITE, architecture, packages, bump }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, `${SNAPSHOT_SUITE}-${architecture}-${key}`);
  let cached = true;
  if (readRecord(dir) === undefined) {
    cached = false;
    mkdirSync(cacheDir, { recursive: true });
    removeAbandoned(cacheDir);
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    try {
      await buildFixture(partial, { packages, bump, architecture, log: options.log ?? (() => {}) });
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      throw error;
    }
    try {
      renameSync(partial, dir);
    } catch {
      // Another process made the same fixture meanwhile (theirs is as good), or a broken one is in the way.
      if (readRecord(dir) === undefined) {
        rmSync(dir, { recursive: true, force: true });
        renameSync(partial, dir);
      } else rmSync(partial, { recursive: true, force: true });
    }
  }
  const record = readRecord(dir);
  if (record === undefined) throw new Error(`snapshot-repos: ${dir} holds no fixture after it was made`);
  const folders = { A: publishedDir(dir, 'A'), B: publishedDir(dir, 'B'), C: publishedDir(dir, 'C') };
  return { ...record, folders, cached, seconds: (Date.now() - started) / 1000, dir };
}

const publishedDir = (fixtureDir: string, name: SnapshotName) =>
  join(fixtureDir, 'aptly', 'public', name.toLowerCase());

async function buildFixture(
  dir: string,
  request: { packages: readonly string[]; bump: string; architecture: string; log: (line: string) => void },
): Promise<void> {
  const started = Date.now();
  const { architecture, log } = request;
  const aptly = new Aptly(join(dir, 'aptly'), architecture);
  const filter = [...MINBASE, ...request.packages].join(' | ');
  const mirrors = [
    { name: 'bookworm', url: DEBIAN, suite: SNAPSHOT_SUITE },
    { name: 'bookworm-updates', url: DEBIAN, suite: `${SNAPSHOT_SUITE}-updates` },
    { name: 'bookworm-security', url: DEBIAN_SECURITY, suite: `${SNAPSHOT_SUITE}-security` },
  ];
  for (const mirror of mirrors) {
    log(
      `snapshot-repos: mirroring ${mirror.url} ${mirror.suite} (${request.packages.length} packages and their dependencies)`,
    );
    await aptly.mirror(mirror.name, mirror.url, mirror.suite, filter);
    await aptly.run(['snapshot', 'create', mirror.name, 'from', 'mirror', mirror.name]);
  }
  const downloadedBytes = folderBytes(join(dir, 'aptly', 'pool'));
  await aptly.run(['snapshot', 'merge', '-latest', 'B', 'bookworm', 'bookworm-updates', 'bookworm-security']);

  log('snapshot-repos: publishing A and B');
  const a = await aptly.publish('bookworm', 'a', SNAPSHOT_SUITE, architecture);
  await aptly.publish('B', 'b', SNAPSHOT_SUITE, architecture);
  const original = readPackagesIndex(a, SNAPSHOT_SUITE, architecture).get(request.bump);
  if (original === undefined) throw new Error(`snapshot-repos: ${request.bump} is not in bookworm main`);
  const version = `${original.version}+respin1`;
  log(`snapshot-repos: C bumps ${request.bump} ${original.version} to ${version}`);
  const repacked = repackDeb(join(a, original.filename), version, dir);
  await aptly.run(['repo', 'create', 'bump']);
  await aptly.run(['repo', 'add', 'bump', repacked]);
  await aptly.run(['snapshot', 'create', 'bump', 'from', 'repo', 'bump']);
  await aptly.run(['snapshot', 'merge', '-latest', 'C', 'bookworm', 'bump']);
  await aptly.publish('C', 'c', SNAPSHOT_SUITE, architecture);
  rmSync(repacked);

  const indexOf = (name: SnapshotName) => readPackagesIndex(publishedDir(dir, name), SNAPSHOT_SUITE, architecture);
  const indexes = { A: indexOf('A'), B: indexOf('B'), C: indexOf('C') };
  const bumped = movedPackages(indexes.A, indexes.C);
  if (bumped.length !== 1 || bumped[0]?.name !== request.bump || indexes.C.size !== indexes.A.size)
    throw new Error(`snapshot-repos: C differs from A by ${JSON.stringify(bumped)}, not by ${request.bump} alone`);
  const record: FixtureRecord = {
    suite: SNAPSHOT_SUITE,
    architecture,
    counts: { A: indexes.A.size, B: indexes.B.size, C: indexes.C.size },
    movedInB: movedPackages(indexes.A, indexes.B),
    bumped: bumped[0],
    made: { at: new Date().toISOString(), seconds: (Date.now() - started) / 1000, downloadedBytes },
  };
  writeFileSync(join(dir, 'fixture.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/** The fixture's record, or nothing when the folder holds no finished fixture. */
function readRecord(dir: string): FixtureRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as FixtureRecord;
    return SNAPSHOT_NAMES.every((name) => existsSync(join(publishedDir(dir, name), 'dists'))) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Half-made fixtures of processes that are gone (stopped while mirroring, say). */
function removeAbandoned(cacheDir: string): void {
  for (const entry of readdirSync(cacheDir)) {
    const pid = Number(/\.partial-(\d+)$/.exec(entry)?.[1] ?? NaN);
    if (Number.isInteger(pid) && !processAlive(pid)) rmSync(join(cacheDir, entry), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
