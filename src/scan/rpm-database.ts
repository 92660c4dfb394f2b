import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describeFailure, runProcess } from '../util/process.js';
import type { InstalledPackage } from './types.js';

/** Where rpm keeps its database in an image: EL9's SQLite, EL8's Berkeley DB, and the newer sysimage path. */
export const RPM_DATABASE_FILES = /^(var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/(rpmdb\.sqlite(-wal|-shm)?|Packages)$/;

export class RpmDatabaseError extends Error {}

const QUERY_FORMAT = '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n';

/**
 * The packages of an image's rpm database, read by the host's `rpm` (Debian's `rpm` package): the
 * database is SQLite on EL9, whose rows are rpm header blobs only rpm itself decodes.
 */
export async function queryRpmDatabase(files: ReadonlyMap<string, Buffer>): Promise<InstalledPackage[]> {
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

/** `name  epoch:version-release  arch  source.rpm` lines; the source name is the SRPM file name less its EVR. */
export function parseRpmQuery(output: string): InstalledPackage[] {
  const packages: InstalledPackage[] = [];
  for (const line of output.split('\n')) {
    const [name, evr, arch, sourceRpm] = line.split('\t');
    if (!name || !evr || name === 'gpg-pubkey') continue;
    const version = evr.startsWith('0:') ? evr.slice(2) : evr;
    const epochPrefix = evr.startsWith('0:') ? '' : evr.slice(0, evr.indexOf(':') + 1);
    const source = /^(.+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(sourceRpm ?? '');
    packages.push({
      type: 'rpm',
      name,
      version,
      sourceName: source?.[1] ?? name,
      sourceVersion: source ? `${epochPrefix}${source[2]}-${source[3]}` : version,
      arch: arch === '(none)' ? undefined : arch,
    });
  }
  return packages;
}
