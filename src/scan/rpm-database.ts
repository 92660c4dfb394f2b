import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describeFailure, runProcess } from '../util/process.js';
import { pythonMetadataPathOf } from './package-ownership.js';
import type { InstalledPackage } from './types.js';

/** Where rpm keeps its database in an image: EL9's SQLite, EL8's Berkeley DB, and the newer sysimage path. */
export const RPM_DATABASE_FILES = /^(var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/(rpmdb\.sqlite(-wal|-shm)?|Packages)$/;

export class RpmDatabaseError extends Error {}

/** What an image's rpm database says: its packages, and the Python metadata paths each one's file list holds. */
export interface RpmInventory {
  packages: InstalledPackage[];
  pythonFiles: Array<{ name: string; paths: string[] }>;
}

/** One `P` line per package, then its requirements (`R`), what it provides (`V`) and its files (`F`). */
const QUERY_FORMAT =
  'P\\t%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\n' +
  '[R\\t%{REQUIRENAME}\\n][V\\t%{PROVIDENAME}\\n][F\\t%{FILENAMES}\\n]';

/**
 * The packages of an image's rpm database, read by the host's `rpm` (Debian's `rpm` package): the
 * database is SQLite on EL9, whose rows are rpm header blobs only rpm itself decodes.
 */
export async function queryRpmDatabase(files: ReadonlyMap<string, Buffer>): Promise<RpmInventory> {
  const dir = await mkdtemp(join(tmpdir(), 'ci-builder-rpmdb-'));
  try {
    const backend = [...files.keys()].some((path) => path.endsWith('rpmdb.sqlite')) ? 'sqlite' : 'bdb_ro';
    for (const [path, content] of files) await writeFile(join(dir, basename(path)), content);
    let result;
    try {
      const args = ['--dbpath', dir, '--define', `_db_backend ${backend}`, '-qa', '--qf', QUERY_FORMAT];
      result = await runProcess('rpm', args, {
        captureStdout: true,
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch {
      throw new RpmDatabaseError('reading an rpm database needs the rpm command on this host (apt-get install rpm)');
    }
    if (result.exitCode !== 0) throw new RpmDatabaseError(describeFailure('rpm -qa', result));
    return parseRpmQuery(result.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface RpmRecord {
  pkg: InstalledPackage;
  requires: string[];
  provides: string[];
  files: string[];
}

/** `name  epoch:version-release  arch  source.rpm  licence`; the source name is the SRPM file name less its EVR. */
function packageOf(fields: readonly string[]): InstalledPackage | undefined {
  const [name, evr, arch, sourceRpm, license] = fields;
  if (!name || !evr || name === 'gpg-pubkey') return undefined;
  const version = evr.startsWith('0:') ? evr.slice(2) : evr;
  const epochPrefix = evr.startsWith('0:') ? '' : evr.slice(0, evr.indexOf(':') + 1);
  const source = /^(.+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(sourceRpm ?? '');
  return {
    type: 'rpm',
    name,
    version,
    sourceName: source?.[1] ?? name,
    sourceVersion: source ? `${epochPrefix}${source[2]}-${source[3]}` : version,
    arch: arch === '(none)' ? undefined : arch,
    ...(license && license !== '(none)' ? { licenses: [license] } : {}),
  };
}

/** The records of the query's output, each package with its requirements, provides and files. */
function rpmRecords(output: string): RpmRecord[] {
  const records: RpmRecord[] = [];
  let current: RpmRecord | undefined;
  for (const line of output.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    const value = fields[0] ?? '';
    if (kind === 'P') {
      const pkg = packageOf(fields);
      current = pkg ? { pkg, requires: [], provides: [], files: [] } : undefined;
      if (current) records.push(current);
    } else if (kind === 'R') current?.requires.push(value);
    else if (kind === 'V') current?.provides.push(value);
    else if (kind === 'F') current?.files.push(value);
  }
  return records;
}

/**
 * The packages with their dependencies among the installed ones: a requirement is met by the packages
 * that provide it, or own it when it is a file (`/bin/sh`); rpm's own features (`rpmlib(…)`) are none.
 */
export function parseRpmQuery(output: string): RpmInventory {
  const records = rpmRecords(output);
  const providers = new Map<string, Set<string>>();
  const provide = (what: string, by: string) => providers.set(what, (providers.get(what) ?? new Set()).add(by));
  const requiresFile = new Set(records.flatMap((record) => record.requires.filter((name) => name.startsWith('/'))));
  for (const { pkg, provides, files } of records) {
    for (const name of provides) provide(name, pkg.name);
    for (const file of files) if (requiresFile.has(file)) provide(file, pkg.name);
  }
  const packages = records.map(({ pkg, requires }) => {
    const names = new Set(requires.flatMap((name) => [...(providers.get(name) ?? [])]));
    names.delete(pkg.name);
    return names.size > 0 ? { ...pkg, dependsOn: [...names].sort() } : pkg;
  });
  const pythonFiles = records
    .map(({ pkg, files }) => ({ name: pkg.name, paths: files.filter((file) => pythonMetadataPathOf(file)) }))
    .filter((entry) => entry.paths.length > 0);
  return { packages, pythonFiles };
}
